"""Bearer JWTs: accepted when valid, refused when forged, expired, or signed with `alg: none`."""

from __future__ import annotations

import time

import jwt

from tests.factories import auth_headers, create_user


def _get(client, token: str):
    return client.post("/api/ops/worker-check?timeout_s=0.1",
                       headers={"Authorization": f"Bearer {token}"})


def test_alg_none_is_refused(client) -> None:
    user = create_user(role="admin")
    token = jwt.encode({"sub": str(user.id), "jti": "x", "exp": int(time.time()) + 60,
                        "typ": "access"}, key=None, algorithm="none")
    response = _get(client, token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_wrong_key_is_refused(client) -> None:
    user = create_user(role="admin")
    forged = auth_headers(user, "another-secret-key-" + "y" * 32)["Authorization"].split()[1]
    assert _get(client, forged).json["error"]["message"] == "the access token is not valid"


def test_expired_token_is_refused(client, settings) -> None:
    user = create_user(role="admin")
    token = jwt.encode({"sub": str(user.id), "jti": "x", "exp": int(time.time()) - 1,
                        "typ": "access"}, settings.SECRET_KEY, algorithm="HS256")
    assert _get(client, token).json["error"]["message"] == "the access token has expired; refresh it"


def test_disabled_user_is_refused(client, settings) -> None:
    user = create_user(role="admin", active=False)
    response = client.post("/api/ops/worker-check", headers=auth_headers(user, settings.SECRET_KEY))
    assert response.status_code == 401


def test_the_app_registers_its_authenticators_in_the_order_they_are_tried(app) -> None:
    from app.security.api_key_auth import authenticate_api_key
    from app.security.authenticate import EXTENSION_KEY
    from app.security.jwt_auth import authenticate_jwt
    from app.security.sessions import authenticate_session

    assert app.extensions[EXTENSION_KEY] == [authenticate_jwt, authenticate_api_key,
                                             authenticate_session]

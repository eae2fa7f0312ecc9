"""Sign-in, rotating refresh tokens with theft detection, logout, and forged tokens."""

from __future__ import annotations

import time

import jwt

from app.models.accounts import RefreshToken
from tests.accounts.helpers import bearer, login, user_with_password
from tests.factories import auth_headers


def test_login_returns_the_documented_pair(client, settings) -> None:
    user = user_with_password()
    response = login(client, user.email.upper())
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 15 * 60
    claims = jwt.decode(body["access_token"], settings.SECRET_KEY, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert RefreshToken.get().token_hash != body["refresh_token"]  # stored hashed
    assert client.get("/api/me", headers=bearer(body["access_token"])).json["id"] == user.id


def test_wrong_password_and_unknown_account_look_alike(client) -> None:
    user = user_with_password()
    wrong = login(client, user.email, "not the password at all")
    unknown = login(client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.json["error"]["code"] == "invalid_credentials"


def test_disabled_account_cannot_sign_in(client) -> None:
    user = user_with_password(active=False)
    response = login(client, user.email)
    assert response.status_code == 403 and response.json["error"]["code"] == "account_disabled"


def test_refresh_rotates_and_reuse_revokes_the_family(client) -> None:
    user = user_with_password()
    first = login(client, user.email).json
    second = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]
    assert client.get("/api/me", headers=bearer(second.json["access_token"])).status_code == 200

    # The first token is presented again: someone copied it. The whole family dies.
    reused = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.json["error"]["code"] == "refresh_token_reused"
    latest = client.post("/api/auth/refresh", json={"refresh_token": second.json["refresh_token"]})
    assert latest.status_code == 401 and latest.json["error"]["code"] == "invalid_refresh_token"

    # Another sign-in (another family) is unaffected.
    other = login(client, user.email).json
    assert client.post("/api/auth/refresh",
                       json={"refresh_token": other["refresh_token"]}).status_code == 200


def test_garbage_and_expired_refresh_tokens_are_refused(client) -> None:
    user = user_with_password()
    pair = login(client, user.email).json
    garbage = client.post("/api/auth/refresh", json={"refresh_token": "rt_nope"})
    assert garbage.status_code == 401 and garbage.json["error"]["code"] == "invalid_refresh_token"
    RefreshToken.update(expires_at=RefreshToken.created_at).execute()
    expired = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert expired.status_code == 401 and expired.json["error"]["code"] == "invalid_refresh_token"


def test_logout_revokes_the_access_token_and_its_family(client) -> None:
    user = user_with_password()
    pair = login(client, user.email).json
    other = login(client, user.email).json
    assert client.post("/api/auth/logout", headers=bearer(pair["access_token"]),
                       json={}).status_code == 204
    me = client.get("/api/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 401 and "revoked" in me.json["error"]["message"]
    refresh = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refresh.status_code == 401
    # Only that session ended.
    assert client.get("/api/me", headers=bearer(other["access_token"])).status_code == 200


def test_logout_all_ends_every_token(client) -> None:
    user = user_with_password()
    one, two = login(client, user.email).json, login(client, user.email).json
    assert client.post("/api/auth/logout-all", headers=bearer(one["access_token"])).status_code \
        == 204
    for pair in (one, two):
        assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401
        assert client.post("/api/auth/refresh",
                           json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_alg_none_and_wrong_key_are_refused_on_me(client, settings) -> None:
    user = user_with_password()
    payload = {"sub": str(user.id), "jti": "x", "exp": int(time.time()) + 60, "typ": "access"}
    unsigned = jwt.encode(payload, key=None, algorithm="none")
    forged = jwt.encode(payload, "another-key-" + "z" * 40, algorithm="HS256")
    hs512 = jwt.encode(payload, settings.SECRET_KEY, algorithm="HS512")
    for token in (unsigned, forged, hs512):
        response = client.get("/api/me", headers=bearer(token))
        assert response.status_code == 401
        assert response.json["error"]["message"] == "the access token is not valid"


def test_refresh_token_is_not_an_access_token(client) -> None:
    pair = login(client, user_with_password().email).json
    response = client.get("/api/me", headers=bearer(pair["refresh_token"]))
    assert response.status_code == 401


def test_me_needs_authentication(client, settings) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    assert client.get("/api/me", headers=auth_headers(user_with_password(),
                                                     settings.SECRET_KEY)).status_code == 200


def test_logout_needs_an_access_token_not_a_key(client) -> None:
    user = user_with_password()
    token = login(client, user.email).json["access_token"]
    key = client.post("/api/keys", json={"name": "ci"}, headers=bearer(token)).json["key"]
    response = client.post("/api/auth/logout", headers=bearer(key), json={})
    assert response.status_code == 403 and response.json["error"]["code"] == "api_key_not_allowed"


def test_credentials_outside_headers_resolve_like_bearer_ones(app, client) -> None:
    """A WebSocket's first message carries an access token or API key as a string."""
    import pytest

    from app.security import Unauthorized
    from app.security.credentials import principal_from_credential

    user = user_with_password()
    pair = login(client, user.email).json
    key = client.post("/api/keys", json={"name": "ws"},
                      headers=bearer(pair["access_token"])).json["key"]
    with app.test_request_context("/ws/jobs/1"):
        assert principal_from_credential(pair["access_token"]).via == "jwt"
        assert principal_from_credential(key).api_key is not None
        with pytest.raises(Unauthorized):
            principal_from_credential("not-a-credential")

"""What ends when: a reused refresh token ends its family's access tokens too; password change
and sign out everywhere may revoke every API key; turning two-factor on ends every other session
and token while the caller stays signed in."""

from __future__ import annotations

import pytest

from app import create_app
from tests.accounts.helpers import bearer, login, user_with_password
from tests.conftest import make_settings


def me_status(client, token: str) -> int:
    return client.get("/api/me", headers=bearer(token)).status_code


# --- refresh-token reuse ---------------------------------------------------------------------
@pytest.mark.parametrize("redis_url", ["redis", "embedded"])
def test_reuse_revokes_the_familys_access_tokens(migrated_database, redis_url) -> None:
    overrides = {} if redis_url == "redis" else {"REDIS_URL": ""}
    client = create_app(make_settings(**overrides)).test_client()
    user = user_with_password()
    first = login(client, user.email).json
    second = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]}).json
    other = login(client, user.email).json  # another sign-in: another family
    assert me_status(client, second["access_token"]) == 200

    reused = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.json["error"]["code"] == "refresh_token_reused"

    for token in (first["access_token"], second["access_token"]):
        refused = client.get("/api/me", headers=bearer(token))
        assert refused.status_code == 401 and "revoked" in refused.json["error"]["message"]
    assert me_status(client, other["access_token"]) == 200


def test_every_web_process_sees_the_revocation(migrated_database) -> None:
    settings = make_settings()
    detecting, other_process = create_app(settings).test_client(), \
        create_app(settings).test_client()
    user = user_with_password()
    first = login(detecting, user.email).json
    second = detecting.post("/api/auth/refresh",
                            json={"refresh_token": first["refresh_token"]}).json
    detecting.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert me_status(other_process, second["access_token"]) == 401

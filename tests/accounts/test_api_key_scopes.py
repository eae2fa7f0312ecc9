"""An API key is a credential for model access, never for managing the account it belongs to."""

from __future__ import annotations

import pytest

from app.models.api_keys import ApiKey
from app.models.users import User
from tests.accounts.helpers import PASSWORD, bearer, login, user_with_password


@pytest.fixture
def limited_key(client):
    """A user signed in with their password, and a key limited to one model and 10 credits."""
    user = user_with_password()
    session = bearer(login(client, user.email).json["access_token"])
    created = client.post("/api/keys", headers=session, json={
        "name": "limited", "allowed_models": ["local-echo"], "cap_total_credits": 10})
    assert created.status_code == 201
    return user, session, bearer(created.json["key"]), created.json["id"]


def _refused(response) -> bool:
    return response.status_code == 403 and response.json["error"]["code"] == "api_key_not_allowed"


def test_a_limited_key_cannot_mint_an_unlimited_key(client, limited_key) -> None:
    user, _, key, _ = limited_key
    response = client.post("/api/keys", headers=key, json={"name": "escape"})
    assert _refused(response)
    assert ApiKey.select().where(ApiKey.user == user.id).count() == 1


def test_a_key_cannot_rotate_list_or_revoke_the_owners_keys(client, limited_key) -> None:
    user, session, key, key_id = limited_key
    other = client.post("/api/keys", headers=session, json={"name": "other"}).json
    assert _refused(client.get("/api/keys", headers=key))
    assert _refused(client.post(f"/api/keys/{other['id']}/rotate", headers=key))
    assert _refused(client.delete(f"/api/keys/{other['id']}", headers=key))
    assert _refused(client.delete(f"/api/keys/{key_id}", headers=key))
    assert client.get("/api/me", headers=bearer(other["key"])).status_code == 200


def test_a_key_cannot_turn_on_two_factor_and_lock_the_owner_out(client, limited_key) -> None:
    user, _, key, _ = limited_key
    assert _refused(client.post("/api/auth/2fa/setup", headers=key, json={}))
    assert _refused(client.post("/api/auth/2fa/enable", headers=key, json={"code": "000000"}))
    assert not User.get_by_id(user.id).has_two_factor
    assert login(client, user.email).status_code == 200


def test_a_key_cannot_change_the_password_or_sign_the_owner_out(client, limited_key) -> None:
    user, session, key, _ = limited_key
    response = client.post("/api/auth/password/change", headers=key,
                           json={"old_password": PASSWORD, "new_password": "another-pass-123"})
    assert _refused(response)
    assert _refused(client.post("/api/auth/logout-all", headers=key))
    assert _refused(client.post("/api/auth/logout", headers=key))
    assert client.get("/api/keys", headers=session).status_code == 200
    assert login(client, user.email).status_code == 200


def test_a_key_still_reaches_what_it_is_for(client, limited_key) -> None:
    user, _, key, _ = limited_key
    assert client.get("/api/credits/balance", headers=key).status_code == 200
    assert client.get("/v1/models", headers=key).status_code == 200
    assert client.get("/api/jobs", headers=key).status_code == 200
    me = client.get("/api/me", headers=key)
    assert me.status_code == 200 and me.json["auth_method"] == "api_key"
    assert _refused(client.get("/api/credits/transactions", headers=key))


def test_the_scope_check_reads_the_key_not_its_owner(client) -> None:
    """A staff member's key is no staff credential: admin routes refuse it by scope."""
    admin = user_with_password(role="admin")
    session = bearer(login(client, admin.email).json["access_token"])
    key = client.post("/api/keys", headers=session, json={"name": "ops"}).json["key"]
    response = client.post(f"/api/admin/users/{admin.id}/credits", headers=bearer(key),
                           json={"amount": 100, "reason": "x", "idempotency_key": "k"})
    assert _refused(response)

"""API keys over HTTP (create once, list, rotate, revoke), and the per-key spending limits."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from app import create_app
from app.extensions import db
from app.models.api_keys import ApiKey
from app.models.base import utcnow
from app.security.errors import EmailNotVerified
from app.services import api_keys
from app.services.api_keys import KeyCreditCapReached, KeyExpired, KeyModelNotAllowed
from tests.accounts.helpers import bearer, login, user_with_password
from tests.conftest import make_settings
from tests.factories import auth_headers, create_user


@pytest.fixture
def owner(client):
    user = user_with_password()
    return user, bearer(login(client, user.email).json["access_token"])


def test_create_shows_the_key_once_and_it_authenticates(client, owner) -> None:
    user, headers = owner
    created = client.post("/api/keys", json={"name": "laptop"}, headers=headers)
    assert created.status_code == 201
    body = created.json
    assert body["name"] == "laptop" and body["key"].startswith(f"hub_{body['prefix']}_")
    row = ApiKey.get_by_id(body["id"])
    assert body["key"].split("_")[2] not in row.secret_hash  # only a keyed hash is stored

    listed = client.get("/api/keys", headers=headers).json["items"]
    assert [k["prefix"] for k in listed] == [body["prefix"]]
    assert "key" not in listed[0] and listed[0]["last_used_at"] is None

    me = client.get("/api/me", headers=bearer(body["key"])).json
    assert me["id"] == user.id and me["auth_method"] == "api_key"
    assert client.get("/api/keys", headers=headers).json["items"][0]["last_used_at"] is not None


def test_revoked_key_is_refused(client, owner) -> None:
    _, headers = owner
    key = client.post("/api/keys", json={"name": "old"}, headers=headers).json
    assert client.delete(f"/api/keys/{key['id']}", headers=headers).status_code == 204
    response = client.get("/api/me", headers=bearer(key["key"]))
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    assert client.get("/api/keys", headers=headers).json["items"] == []
    assert client.delete(f"/api/keys/{key['id']}", headers=headers).status_code == 404


def test_rotated_key_drops_the_old_secret(client, owner) -> None:
    _, headers = owner
    key = client.post("/api/keys", json={"name": "ci"}, headers=headers).json
    rotated = client.post(f"/api/keys/{key['id']}/rotate", headers=headers).json
    assert rotated["prefix"] == key["prefix"] and rotated["key"] != key["key"]
    assert client.get("/api/me", headers=bearer(key["key"])).status_code == 401
    assert client.get("/api/me", headers=bearer(rotated["key"])).status_code == 200


def test_rotation_grace_keeps_the_old_secret_for_a_while(migrated_database) -> None:
    app = create_app(make_settings(HUB_API_KEY_ROTATION_GRACE_S=3600))
    client = app.test_client()
    user = user_with_password()
    headers = bearer(login(client, user.email).json["access_token"])
    key = client.post("/api/keys", json={"name": "ci"}, headers=headers).json
    rotated = client.post(f"/api/keys/{key['id']}/rotate", headers=headers).json
    assert client.get("/api/me", headers=bearer(key["key"])).status_code == 200
    assert client.get("/api/me", headers=bearer(rotated["key"])).status_code == 200
    ApiKey.update(previous_valid_until=utcnow() - timedelta(seconds=1)).execute()
    assert client.get("/api/me", headers=bearer(key["key"])).status_code == 401


def test_another_users_key_is_not_found(client, owner, settings) -> None:
    _, headers = owner
    key = client.post("/api/keys", json={"name": "mine"}, headers=headers).json
    stranger = auth_headers(create_user(), settings.SECRET_KEY)
    assert client.delete(f"/api/keys/{key['id']}", headers=stranger).status_code == 404
    assert client.post(f"/api/keys/{key['id']}/rotate", headers=stranger).status_code == 404
    assert client.get("/api/me", headers=bearer(key["key"])).status_code == 200


def test_malformed_and_unknown_keys_are_refused(client) -> None:
    for token in ("hub_short", "hub_AAAAAAAA_" + "b" * 40):
        response = client.get("/api/me", headers=bearer(token))
        assert response.status_code == 401


def test_expired_key_is_refused(client, owner) -> None:
    _, headers = owner
    key = client.post("/api/keys", json={"name": "temp", "expires_at": "2000-01-01T00:00:00Z"},
                      headers=headers).json
    response = client.get("/api/me", headers=bearer(key["key"]))
    assert response.status_code == 401 and "expired" in response.json["error"]["message"]


def test_bad_limits_are_422_naming_the_field(client, owner) -> None:
    _, headers = owner
    response = client.post("/api/keys", json={"name": "x", "cap_total_credits": -1},
                           headers=headers)
    assert response.status_code == 422
    assert response.json["error"]["message"].startswith("cap_total_credits:")
    assert client.post("/api/keys", json={}, headers=headers).json["error"]["message"] \
        .startswith("name:")


def test_x_api_key_is_accepted_on_v1_messages_only(client, app) -> None:
    user = create_user()
    with app.app_context():
        new = api_keys.create_key(user, "claude-code")
    anonymous = client.post("/v1/messages", json={})
    assert anonymous.status_code == 401
    # with the key, authentication passes and the (empty) body is what gets refused
    accepted = client.post("/v1/messages", json={}, headers={"x-api-key": new.plaintext})
    assert accepted.status_code == 400
    assert accepted.json["error"]["message"] == "model: required"
    assert client.get("/api/me", headers={"x-api-key": new.plaintext}).status_code == 401


# --- limits enforced with the credit hold --------------------------------------------------
def _key(user=None, **limits) -> int:
    return api_keys.create_key(user or create_user(), "job", **limits).key.id


def _hold(key_id: int, model: str, amount: int) -> None:
    with db.atomic():
        api_keys.check_key_limits(key_id, model, amount)
        api_keys.record_key_spend(key_id, amount)


def test_allowed_models(app) -> None:
    with app.app_context():
        key_id = _key(allowed_models=["gpt-4o-mini", "local-echo"])
        _hold(key_id, "local-echo", 5)
        with pytest.raises(KeyModelNotAllowed) as refused:
            _hold(key_id, "claude-opus", 5)
    assert refused.value.http_status == 403
    assert refused.value.details["allowed_models"] == ["gpt-4o-mini", "local-echo"]


def test_total_and_monthly_caps(app) -> None:
    with app.app_context():
        total = _key(cap_total_credits=100)
        _hold(total, "m", 60)
        with pytest.raises(KeyCreditCapReached) as refused:
            _hold(total, "m", 41)
        assert refused.value.details == {"limit": "total", "cap_credits": 100,
                                         "spent_credits": 60}
        monthly = _key(cap_monthly_credits=50)
        _hold(monthly, "m", 50)
        with pytest.raises(KeyCreditCapReached) as refused_month:
            _hold(monthly, "m", 1)
        assert refused_month.value.details["limit"] == "monthly"
        # Last month's spending does not count this month.
        ApiKey.update(spent_month="1999-12").where(ApiKey.id == monthly).execute()
        _hold(monthly, "m", 50)
        # Giving back the unused part of a hold frees room under the cap.
        api_keys.record_key_spend(monthly, -20)
        _hold(monthly, "m", 20)
        assert ApiKey.get_by_id(monthly).spent_month_credits == 50


def test_expired_key_and_unverified_owner_are_refused_at_hold(app) -> None:
    with app.app_context():
        expired = _key(expires_at=utcnow() - timedelta(seconds=1))
        with pytest.raises(KeyExpired):
            _hold(expired, "m", 1)
        unverified = _key(create_user(verified=False))
        with pytest.raises(EmailNotVerified):
            _hold(unverified, "m", 1)
        with pytest.raises(RuntimeError, match="transaction"):
            api_keys.check_key_limits(unverified, "m", 1)


def test_concurrent_holds_cannot_both_pass_the_cap(app) -> None:
    with app.app_context():
        key_id = _key(cap_total_credits=100)
    inside = threading.Barrier(2)
    outcomes: list[str] = []

    def hold() -> None:
        with app.app_context(), db.connection_context():
            inside.wait()
            try:
                _hold(key_id, "m", 60)
                outcomes.append("held")
            except KeyCreditCapReached:
                outcomes.append("refused")

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["held", "refused"]
    with app.app_context():
        assert ApiKey.get_by_id(key_id).spent_total_credits == 60

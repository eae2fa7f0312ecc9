"""What ends when: a reused refresh token ends its family's access tokens too; password change
and sign out everywhere may revoke every API key; turning two-factor on ends every other session
and token while the caller stays signed in."""

from __future__ import annotations

import re

import pyotp
import pytest

from app import create_app
from tests.accounts.conftest import PASSWORD, text_of
from tests.accounts.helpers import bearer, login, reset_token_from, user_with_password
from tests.accounts.test_pages import csrf_from, sign_in, submit
from tests.conftest import make_settings

NEW_PASSWORD = "a brand new passphrase 42"


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


# --- API keys on password change, sign out everywhere and reset ------------------------------
def new_key(client, token: str) -> str:
    return client.post("/api/keys", json={"name": "ci"}, headers=bearer(token)).json["key"]


def key_status(client, key: str) -> int:
    return client.get("/v1/models", headers=bearer(key)).status_code


def test_password_change_revokes_api_keys_only_when_asked(client, mailbox, worker) -> None:
    user = user_with_password()
    token = login(client, user.email).json["access_token"]
    key = new_key(client, token)
    kept = client.post("/api/auth/password/change", headers=bearer(token),
                       json={"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert kept.status_code == 200 and key_status(client, key) == 200
    assert "Your 1 API key still works" in text_of(mailbox.next_to(user.email))

    token = kept.json["access_token"]
    revoked = client.post("/api/auth/password/change", headers=bearer(token),
                          json={"old_password": NEW_PASSWORD, "new_password": PASSWORD,
                                "revoke_api_keys": True})
    assert revoked.status_code == 200
    assert key_status(client, key) == 401
    assert me_status(client, revoked.json["access_token"]) == 200
    assert client.get("/api/keys", headers=bearer(revoked.json["access_token"])).json \
        == {"items": []}
    assert "Your 1 API key was revoked too" in text_of(mailbox.next_to(user.email))


def test_sign_out_everywhere_revokes_api_keys_only_when_asked(client) -> None:
    user = user_with_password()
    key = new_key(client, login(client, user.email).json["access_token"])
    token = login(client, user.email).json["access_token"]
    assert client.post("/api/auth/logout-all", headers=bearer(token)).status_code == 204
    assert key_status(client, key) == 200  # no body: as before, keys stay

    token = login(client, user.email).json["access_token"]
    assert client.post("/api/auth/logout-all", headers=bearer(token),
                       json={"revoke_api_keys": True}).status_code == 204
    assert key_status(client, key) == 401
    assert me_status(client, token) == 401


def test_account_page_checkboxes_revoke_api_keys(client) -> None:
    user = user_with_password()
    token = login(client, user.email).json["access_token"]
    first, second = new_key(client, token), new_key(client, token)
    sign_in(client, user.email)
    changed = submit(client, "/account/password", {"old_password": PASSWORD,
                                                   "new_password": NEW_PASSWORD}, page="/account")
    assert changed.headers["Location"] == "/account" and key_status(client, first) == 200
    changed = submit(client, "/account/password", {"old_password": NEW_PASSWORD,
                                                   "new_password": PASSWORD,
                                                   "revoke_api_keys": "y"}, page="/account")
    assert changed.headers["Location"] == "/account"
    assert key_status(client, first) == key_status(client, second) == 401

    third = new_key(client, login(client, user.email).json["access_token"])
    signed_out = submit(client, "/account/sign-out-everywhere", {"revoke_api_keys": "y"},
                        page="/account")
    assert signed_out.headers["Location"] == "/login" and key_status(client, third) == 401


def test_password_reset_keeps_api_keys_and_says_so(client, mailbox, worker) -> None:
    user = user_with_password()
    key = new_key(client, login(client, user.email).json["access_token"])
    client.post("/api/auth/password/forgot", json={"email": user.email})
    token = reset_token_from(mailbox.next_to(user.email))
    page = submit(client, "/reset", {"token": token, "password": NEW_PASSWORD})
    assert page.headers["Location"] == "/login"
    assert "Your API keys still work: review them on the Keys page" in client.get("/login").get_data(as_text=True)
    assert key_status(client, key) == 200
    mail = text_of(mailbox.next_to(user.email))
    assert "Your 1 API key still works" in mail and "/keys" in mail


# --- turning two-factor on -------------------------------------------------------------------
def test_turning_two_factor_on_ends_every_other_token(client) -> None:
    user = user_with_password()
    mine, other = login(client, user.email).json, login(client, user.email).json
    secret = client.post("/api/auth/2fa/setup", headers=bearer(mine["access_token"])).json["secret"]
    enabled = client.post("/api/auth/2fa/enable", headers=bearer(mine["access_token"]),
                          json={"code": pyotp.TOTP(secret).now()})
    assert enabled.status_code == 200 and len(enabled.json["recovery_codes"]) == 10

    fresh = enabled.json  # the caller stays signed in with a new pair
    assert fresh["token_type"] == "Bearer" and fresh["expires_in"] > 0
    me = client.get("/api/me", headers=bearer(fresh["access_token"]))
    assert me.status_code == 200 and me.json["two_factor_enabled"] is True
    for pair in (mine, other):
        assert me_status(client, pair["access_token"]) == 401
        assert client.post("/api/auth/refresh",
                           json={"refresh_token": pair["refresh_token"]}).status_code == 401
    assert client.post("/api/auth/refresh",
                       json={"refresh_token": fresh["refresh_token"]}).status_code == 200


def test_turning_two_factor_on_in_the_page_keeps_only_this_session(app) -> None:
    user = user_with_password()
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, user.email)
    sign_in(elsewhere, user.email)
    api_pair = login(here, user.email).json
    page = submit(here, "/account/two-factor/setup", {}, page="/account")
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7]+)<', page.data).group(1).decode()
    page = submit(here, "/account/two-factor/enable", {"code": pyotp.TOTP(secret).now()},
                  page="/account")
    assert page.status_code == 200 and b'data-testid="recovery-codes"' in page.data

    assert here.get("/dashboard").status_code == 200  # this session goes on
    assert elsewhere.get("/dashboard").headers["Location"].startswith("/login")
    assert me_status(here, api_pair["access_token"]) == 401


def test_turning_two_factor_on_from_the_dashboards_session(app) -> None:
    user = user_with_password()
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, user.email)
    sign_in(elsewhere, user.email)
    csrf = {"X-CSRFToken": csrf_from(here, "/account")}
    secret = here.post("/api/auth/2fa/setup", headers=csrf).json["secret"]
    enabled = here.post("/api/auth/2fa/enable", headers=csrf,
                        json={"code": pyotp.TOTP(secret).now()})
    assert enabled.status_code == 200 and "access_token" not in enabled.json
    assert here.get("/api/me").json["two_factor_enabled"] is True  # a fresh session
    assert elsewhere.get("/dashboard").status_code == 302

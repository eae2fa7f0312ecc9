"""Routes that check the current password (password change, turning two-factor off, on the API
and the account page) are limited per account like sign-in is per IP
(HUB_RATE_LIMIT_PASSWORD_CHECK): a stolen session cannot guess the password at API speed."""

from __future__ import annotations

import pyotp
import pytest

from app import create_app
from tests.accounts.conftest import PASSWORD
from tests.accounts.helpers import bearer, login, user_with_password
from tests.accounts.test_pages import sign_in, submit
from tests.accounts.test_rate_limits import _assert_429
from tests.conftest import make_settings

NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def client(migrated_database):
    return create_app(make_settings(HUB_RATE_LIMIT_PASSWORD_CHECK="3/minute")).test_client()


def change(client, headers, old_password: str, **extra):
    return client.post("/api/auth/password/change", headers=headers,
                       json={"old_password": old_password, "new_password": NEW_PASSWORD, **extra})


def test_password_change_is_limited_per_account(client) -> None:
    user, other = user_with_password(), user_with_password()
    headers = bearer(login(client, user.email).json["access_token"])
    for _ in range(3):
        assert change(client, headers, "guessing the password").status_code == 401

    _assert_429(change(client, headers, PASSWORD))  # even the right password, now
    # the limit follows the account, not the client IP
    _assert_429(client.post("/api/auth/password/change", headers=headers,
                            json={"old_password": PASSWORD, "new_password": NEW_PASSWORD},
                            environ_base={"REMOTE_ADDR": "10.9.8.7"}))
    assert client.get("/api/me", headers=headers).status_code == 200  # nothing was revoked
    assert login(client, user.email, NEW_PASSWORD).status_code == 401  # unchanged
    assert login(client, user.email).status_code == 200
    # another account, from the same IP, is not affected
    other_headers = bearer(login(client, other.email).json["access_token"])
    assert change(client, other_headers, PASSWORD).status_code == 200


def test_turning_two_factor_off_is_limited_per_account(client) -> None:
    user = user_with_password()
    token = login(client, user.email).json["access_token"]
    secret = client.post("/api/auth/2fa/setup", headers=bearer(token)).json["secret"]
    enabled = client.post("/api/auth/2fa/enable", headers=bearer(token),
                          json={"code": pyotp.TOTP(secret).now()})
    codes = enabled.json["recovery_codes"]
    headers = bearer(enabled.json["access_token"])  # turning 2FA on re-issued the pair
    for code in codes[:3]:
        wrong = client.post("/api/auth/2fa/disable", headers=headers,
                            json={"password": "guessing the password", "code": code})
        assert wrong.status_code == 401

    refused = client.post("/api/auth/2fa/disable", headers=headers,
                          json={"password": PASSWORD, "code": codes[3]})
    _assert_429(refused)
    assert client.get("/api/me", headers=headers).json["two_factor_enabled"] is True


def test_account_page_forms_share_the_limit(client) -> None:
    user = user_with_password()
    sign_in(client, user.email)
    for _ in range(3):
        page = submit(client, "/account/password", {"old_password": "guessing the password",
                                                     "new_password": NEW_PASSWORD},
                      page="/account")
        assert page.status_code == 200 and b"the current password is wrong" in page.data

    refused = submit(client, "/account/password", {"old_password": PASSWORD,
                                                   "new_password": NEW_PASSWORD}, page="/account")
    assert refused.status_code == 429
    # turning two-factor off checks the password too: the same per-account budget
    assert submit(client, "/account/two-factor/disable", {"password": PASSWORD, "code": "1"},
                  page="/account").status_code == 429
    assert client.get("/dashboard").status_code == 200  # still signed in
    assert login(client, user.email).status_code == 200  # the password is unchanged

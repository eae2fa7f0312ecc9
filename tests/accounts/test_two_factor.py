"""Two-factor sign-in (TOTP + recovery codes): optional for everyone, required for staff in
production on the API, the pages and the back office."""

from __future__ import annotations

import re

import pyotp
import pytest

from app import create_app
from tests.accounts.conftest import PASSWORD
from tests.accounts.helpers import bearer, login, user_with_password
from tests.conftest import make_settings


def _enable(client, headers) -> tuple[str, list[str], dict[str, str]]:
    """Turn 2FA on; returns the secret, the recovery codes and the caller's new headers (turning
    it on ends every token, the caller's too, which gets a fresh pair)."""
    setup = client.post("/api/auth/2fa/setup", headers=headers).json
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    enabled = client.post("/api/auth/2fa/enable", headers=headers,
                          json={"code": pyotp.TOTP(setup["secret"]).now()})
    assert enabled.status_code == 200
    return setup["secret"], enabled.json["recovery_codes"], bearer(enabled.json["access_token"])


def test_login_with_totp_and_recovery_codes(client) -> None:
    user = user_with_password()
    headers = bearer(login(client, user.email).json["access_token"])
    secret, codes, headers = _enable(client, headers)
    assert len(codes) == 10

    missing = login(client, user.email)
    assert missing.status_code == 401 and missing.json["error"]["code"] == "two_factor_required"
    wrong = login(client, user.email, totp_code="000000")
    assert wrong.json["error"]["code"] == "invalid_two_factor_code"
    # The code used to enable 2FA cannot be replayed; a recovery code works once.
    replay = login(client, user.email, totp_code=pyotp.TOTP(secret).now())
    assert replay.status_code == 401
    assert login(client, user.email, totp_code=codes[0]).status_code == 200
    assert login(client, user.email, totp_code=codes[0]).status_code == 401
    assert client.get("/api/me", headers=headers).json["two_factor_enabled"] is True


def test_disable_needs_password_and_code(client) -> None:
    user = user_with_password()
    headers = bearer(login(client, user.email).json["access_token"])
    _, codes, headers = _enable(client, headers)
    bad = client.post("/api/auth/2fa/disable", headers=headers,
                      json={"password": "wrong password!", "code": codes[0]})
    assert bad.status_code == 401
    ok = client.post("/api/auth/2fa/disable", headers=headers,
                     json={"password": PASSWORD, "code": codes[1]})
    assert ok.status_code == 204
    assert login(client, user.email).status_code == 200
    again = client.post("/api/auth/2fa/enable", headers=headers, json={"code": "123456"})
    assert again.status_code == 409  # setup must start again


@pytest.fixture
def production(migrated_database):
    return create_app(make_settings(HUB_ENV="production", HUB_MAIL_LOG_IN_PRODUCTION=True))


def test_staff_need_two_factor_in_production_api(production, settings) -> None:
    client = production.test_client()
    admin = user_with_password(role="admin")
    refused = login(client, admin.email)
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "two_factor_setup_required"
    assert login(client, user_with_password().email).status_code == 200  # plain users: optional

    # A token issued without 2FA (e.g. before production) is refused on every guarded route.
    dev_token = login(create_app(settings).test_client(), admin.email).json["access_token"]
    me = client.get("/api/me", headers=bearer(dev_token))
    assert me.status_code == 403 and me.json["error"]["code"] == "two_factor_setup_required"


HTTPS = {"base_url": "https://localhost"}


def _page_sign_in(client, email: str):
    page = client.get("/login", **HTTPS)
    token = re.search(rb'<meta name="csrf-token" content="([^"]+)"', page.data).group(1).decode()
    return client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD},
                       headers={"Referer": "https://localhost/login"}, **HTTPS)


def test_staff_pages_and_back_office_lead_to_two_factor_setup(production) -> None:
    client = production.test_client()
    support = user_with_password(role="support")
    assert _page_sign_in(client, support.email).status_code == 302
    for path in ("/dashboard", "/keys", "/admin/", "/admin/users/"):
        response = client.get(path, **HTTPS)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/account#two-factor", path
    page = client.get("/account", **HTTPS)
    assert page.status_code == 200 and b"Staff accounts must turn on two-factor" in page.data

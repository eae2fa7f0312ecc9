"""The account pages through HTTP as a browser sends them: forms with CSRF tokens, sessions,
remember-me, sign out everywhere, and the role rule on pages."""

from __future__ import annotations

import re

import pyotp

from app.models.api_keys import ApiKey
from app.models.users import User
from tests.accounts.conftest import PASSWORD
from tests.accounts.helpers import code_from, reset_token_from, user_with_password


def csrf_from(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return re.search(rb'<meta name="csrf-token" content="([^"]+)"', page.data).group(1).decode()


def submit(client, path: str, data: dict, *, page: str | None = None):
    token = csrf_from(client, page or path)
    return client.post(path, data={"csrf_token": token, **data})


def sign_in(client, email: str, password: str = PASSWORD, **extra):
    return submit(client, "/login", {"email": email, "password": password, **extra})


def test_anonymous_visitors_are_sent_to_login(client) -> None:
    for path in ("/dashboard", "/account", "/keys"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith(f"/login?next={path}")
    assert client.get("/").headers["Location"] == "/login"


def test_sign_in_and_out(client) -> None:
    user = user_with_password(name="Ada")
    response = sign_in(client, user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    page = client.get("/dashboard")
    assert page.status_code == 200 and b"Welcome, Ada" in page.data
    assert client.get("/").headers["Location"] == "/dashboard"
    # The session also authenticates the dashboard's own GETs to /api.
    assert client.get("/api/me").json["auth_method"] == "session"
    submit(client, "/logout", {}, page="/dashboard")
    assert client.get("/dashboard").status_code == 302


def test_wrong_password_shows_the_reason(client) -> None:
    user = user_with_password()
    page = sign_in(client, user.email, "not the password")
    assert page.status_code == 200 and b"The e-mail address or password is wrong." in page.data


def test_forms_without_a_csrf_token_are_refused(client) -> None:
    user = user_with_password()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400 and b"CSRF" in response.data
    sign_in(client, user.email)
    response = client.post("/account/sign-out-everywhere", data={})
    assert response.status_code == 400
    assert client.get("/dashboard").status_code == 200  # nothing happened


def test_session_api_writes_need_the_csrf_header(client) -> None:
    sign_in(client, user_with_password().email)
    refused = client.post("/api/keys", json={"name": "x"})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf_failed"
    token = csrf_from(client, "/dashboard")
    created = client.post("/api/keys", json={"name": "x"}, headers={"X-CSRFToken": token})
    assert created.status_code == 201


def test_open_redirects_are_refused(client) -> None:
    user = user_with_password()
    token = csrf_from(client, "/login")
    response = client.post("/login?next=//evil.example/x",
                           data={"csrf_token": token, "email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/dashboard"


def test_remember_me_survives_the_session_and_sign_out_everywhere_ends_it(app) -> None:
    user = user_with_password()
    browser, other_device = app.test_client(), app.test_client()
    sign_in(browser, user.email, remember="y")
    sign_in(other_device, user.email, remember="y")
    assert browser.get_cookie("hub_remember") is not None
    browser.delete_cookie("hub_session")  # the browser was closed
    assert browser.get("/dashboard").status_code == 200  # remembered

    response = submit(other_device, "/account/sign-out-everywhere", {}, page="/account")
    assert response.headers["Location"] == "/login"
    browser.delete_cookie("hub_session")
    assert browser.get("/dashboard").status_code == 302
    assert other_device.get("/dashboard").status_code == 302


def test_cookies_are_httponly_samesite_and_secure_in_production(migrated_database) -> None:
    from app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(HUB_ENV="production", SECRET_KEY="p" * 40,
                                   HUB_MAIL_LOG_IN_PRODUCTION=True))
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    client = app.test_client()
    client.get("/login")
    cookie = client.get_cookie("hub_session")
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.secure


def test_register_and_verify_through_the_pages(client, mailbox, worker) -> None:
    response = submit(client, "/register", {"name": "Bea", "email": "bea@example.com",
                                            "password": PASSWORD})
    assert response.headers["Location"] == "/verify?email=bea@example.com"
    code = code_from(mailbox.next_to("bea@example.com"))
    response = submit(client, "/verify", {"email": "bea@example.com", "code": code},
                      page="/verify?email=bea@example.com")
    assert response.status_code == 302
    assert User.get(User.email == "bea@example.com").is_verified
    weak = submit(client, "/register", {"email": "c@example.com", "password": "short"})
    assert b"use at least 10 characters" in weak.data


def test_forgot_and_reset_through_the_pages(client, mailbox, worker) -> None:
    user = user_with_password()
    response = submit(client, "/forgot", {"email": user.email})
    assert response.headers["Location"] == "/login"
    token = reset_token_from(mailbox.next_to(user.email))
    new_password = "a new and long passphrase"
    response = submit(client, f"/reset?token={token}", {"password": new_password})
    assert response.headers["Location"] == "/login"
    assert sign_in(client, user.email, new_password).headers["Location"] == "/dashboard"
    client.get("/dashboard")
    again = submit(client, f"/reset?token={token}", {"password": "another long passphrase"})
    assert b"not valid, has expired, or was already used" in again.data


def test_keys_page_creates_rotates_and_revokes(client) -> None:
    user = user_with_password()
    sign_in(client, user.email)
    page = submit(client, "/keys", {"name": "laptop", "allowed_models": "a, b",
                                    "cap_monthly_credits": "500"})
    key = re.search(rb'value="(hub_[A-Za-z0-9_]+)"', page.data).group(1).decode()
    assert b"It will not be shown again" in page.data
    row = ApiKey.get()
    assert row.cap_monthly_credits == 500 and row.allowed_models == '["a", "b"]'
    assert key not in client.get("/keys").data.decode()  # shown once
    rotated = submit(client, f"/keys/{row.id}/rotate", {}, page="/keys")
    new_key = re.search(rb'value="(hub_[A-Za-z0-9_]+)"', rotated.data).group(1).decode()
    assert new_key != key
    submit(client, f"/keys/{row.id}/revoke", {}, page="/keys")
    assert ApiKey.get_by_id(row.id).revoked_at is not None


def test_keys_page_refuses_a_cap_larger_than_its_column(client) -> None:
    user = user_with_password()
    sign_in(client, user.email)

    page = submit(client, "/keys", {"name": "laptop", "cap_total_credits": str(10**20)})

    assert page.status_code == 200 and b"Number must be between" in page.data
    assert ApiKey.select().count() == 0


def test_password_change_page(client) -> None:
    user = user_with_password()
    sign_in(client, user.email)
    wrong = submit(client, "/account/password", {"old_password": "nope nope nope",
                                                 "new_password": "a new long passphrase"},
                   page="/account")
    assert b"the current password is wrong" in wrong.data
    ok = submit(client, "/account/password", {"old_password": PASSWORD,
                                              "new_password": "a new long passphrase"},
                page="/account")
    assert ok.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200  # this session continues


def test_two_factor_setup_and_sign_in(client) -> None:
    user = user_with_password()
    sign_in(client, user.email)
    page = submit(client, "/account/two-factor/setup", {}, page="/account")
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7]+)<', page.data).group(1).decode()
    token = re.search(rb'<meta name="csrf-token" content="([^"]+)"', page.data).group(1)
    enabled = client.post("/account/two-factor/enable",
                          data={"csrf_token": token.decode(), "code": pyotp.TOTP(secret).now()})
    codes = re.findall(rb'<li class="col">([a-z0-9]{5}-[a-z0-9]{5})</li>', enabled.data)
    assert len(codes) == 10
    submit(client, "/logout", {}, page="/account")

    response = sign_in(client, user.email)
    assert response.headers["Location"] == "/login/two-factor"
    assert client.get("/dashboard").status_code == 302  # not signed in yet
    wrong = submit(client, "/login/two-factor", {"code": "000000"})
    assert b"wrong or was already used" in wrong.data
    done = submit(client, "/login/two-factor", {"code": codes[0].decode()})
    assert done.headers["Location"] == "/dashboard"
    assert User.get_by_id(user.id).has_two_factor

"""Passwords of only whitespace, or with control characters (NUL, tab, line breaks), are refused
wherever a password is set: registration, reset, change, and the operator's `users create`.

Over HTTP a NUL never reaches the password rule: every body, query and form field holding one is
refused first (400 `nul_character`, naming the field; see tests/test_api_contract.py)."""

from __future__ import annotations

import pytest

from app.models.users import User
from tests.accounts.conftest import PASSWORD
from tests.accounts.helpers import bearer, login, reset_token_from, user_with_password
from tests.accounts.test_pages import submit

BAD_PASSWORDS = {
    "twelve spaces": (" " * 12, "only spaces"),
    "ten NULs": ("\x00" * 10, "control characters"),
    "a NUL inside": ("a long pass\x00phrase here", "control characters"),
    "tabs and line breaks": ("\t\n\r a long passphrase", "control characters"),
}


def _assert_refused(response, field: str, reason: str) -> None:
    if response.status_code == 400:  # a NUL, refused by the input layer before any rule
        assert response.json["error"]["code"] == "nul_character"
        assert response.json["error"]["message"].startswith(f"{field}: ")
        return
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "weak_password"
    assert error["message"].startswith(f"{field}: ") and reason in error["message"]


@pytest.mark.parametrize("name", list(BAD_PASSWORDS))
def test_register_refuses_it(client, name) -> None:
    password, reason = BAD_PASSWORDS[name]
    response = client.post("/api/auth/register", json={"email": "new@example.com",
                                                        "password": password})
    _assert_refused(response, "password", reason)
    assert not User.select().where(User.email == "new@example.com").exists()


def test_reset_refuses_it_and_keeps_the_token(client, mailbox, worker) -> None:
    user = user_with_password()
    client.post("/api/auth/password/forgot", json={"email": user.email})
    token = reset_token_from(mailbox.next_to(user.email))
    for name in ("twelve spaces", "ten NULs"):  # the reset route's per-IP limit is 5/minute
        password, reason = BAD_PASSWORDS[name]
        response = client.post("/api/auth/password/reset",
                               json={"token": token, "password": password})
        _assert_refused(response, "password", reason)
    assert login(client, user.email).status_code == 200  # unchanged
    ok = client.post("/api/auth/password/reset",
                     json={"token": token, "password": "a proper new passphrase"})
    assert ok.status_code == 200


def test_change_refuses_it_naming_new_password(client) -> None:
    user = user_with_password()
    headers = bearer(login(client, user.email).json["access_token"])
    for password, reason in BAD_PASSWORDS.values():
        response = client.post("/api/auth/password/change", headers=headers,
                               json={"old_password": PASSWORD, "new_password": password})
        _assert_refused(response, "new_password", reason)
    assert client.get("/api/me", headers=headers).status_code == 200  # nothing was revoked
    assert login(client, user.email).status_code == 200


def test_register_page_shows_the_reason(client) -> None:
    page = submit(client, "/register", {"email": "nul@example.com", "password": "\x01" * 10})
    assert page.status_code == 200 and b"password: must not contain control characters" \
        in page.data
    assert not User.select().where(User.email == "nul@example.com").exists()


def test_operator_cli_refuses_it(app) -> None:
    runner = app.test_cli_runner()
    for password, reason in BAD_PASSWORDS.values():
        result = runner.invoke(args=["users", "create", "ops@example.com", "--password",
                                     password])
        assert result.exit_code != 0 and "password: " in result.output \
            and reason in result.output, result.output
    assert not User.select().where(User.email == "ops@example.com").exists()

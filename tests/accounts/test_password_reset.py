"""Forgot-password (no enumeration), single-use reset tokens, and password change."""

from __future__ import annotations

from datetime import timedelta

from app.models.accounts import PasswordResetToken
from tests.accounts.conftest import PASSWORD, text_of
from tests.accounts.helpers import bearer, login, reset_token_from, user_with_password

NEW_PASSWORD = "a brand new passphrase 42"


def forgot(client, email: str):
    return client.post("/api/auth/password/forgot", json={"email": email})


def test_forgot_answers_alike_for_any_address(client, mailbox, worker) -> None:
    user = user_with_password()
    known, unknown = forgot(client, user.email), forgot(client, "nobody@example.com")
    malformed = forgot(client, "not an address")
    assert known.status_code == unknown.status_code == malformed.status_code == 202
    assert known.json == unknown.json == malformed.json
    message = mailbox.next_to(user.email)
    assert message["Subject"] == "Reset your Smart AI Hub password"
    worker.drain()
    assert mailbox.empty()  # nothing was mailed for the unknown address


def test_reset_sets_the_password_once_and_revokes_every_token(client, mailbox, worker) -> None:
    user = user_with_password()
    pair = login(client, user.email).json
    forgot(client, user.email)
    token = reset_token_from(mailbox.next_to(user.email))
    assert PasswordResetToken.get().token_hash != token  # hashed at rest

    response = client.post("/api/auth/password/reset", json={"token": token,
                                                             "password": NEW_PASSWORD})
    assert response.status_code == 200 and response.json == {"status": "password_reset"}
    assert "was just changed" in text_of(mailbox.next_to(user.email))

    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401
    assert client.post("/api/auth/refresh",
                       json={"refresh_token": pair["refresh_token"]}).status_code == 401
    assert login(client, user.email).status_code == 401
    assert login(client, user.email, NEW_PASSWORD).status_code == 200

    again = client.post("/api/auth/password/reset", json={"token": token,
                                                          "password": "yet another passphrase"})
    assert again.status_code == 400 and again.json["error"]["code"] == "invalid_reset_token"


def test_expired_reset_token_is_refused(client, mailbox, worker) -> None:
    user = user_with_password()
    forgot(client, user.email)
    token = reset_token_from(mailbox.next_to(user.email))
    PasswordResetToken.update(expires_at=PasswordResetToken.created_at - timedelta(seconds=1)) \
        .execute()
    response = client.post("/api/auth/password/reset", json={"token": token,
                                                             "password": NEW_PASSWORD})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_reset_token"
    assert login(client, user.email).status_code == 200  # the old password still works


def test_reset_applies_the_password_policy_and_keeps_the_token(client, mailbox, worker) -> None:
    user = user_with_password()
    forgot(client, user.email)
    token = reset_token_from(mailbox.next_to(user.email))
    weak = client.post("/api/auth/password/reset", json={"token": token, "password": "password1"})
    assert weak.status_code == 422 and weak.json["error"]["code"] == "weak_password"
    ok = client.post("/api/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert ok.status_code == 200


def test_change_password_needs_the_old_one(client, mailbox, worker) -> None:
    user = user_with_password()
    pair = login(client, user.email).json
    wrong = client.post("/api/auth/password/change", headers=bearer(pair["access_token"]),
                        json={"old_password": "not it at all", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "invalid_credentials"
    changed = client.post("/api/auth/password/change", headers=bearer(pair["access_token"]),
                          json={"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401
    assert client.get("/api/me",
                      headers=bearer(changed.json["access_token"])).status_code == 200
    assert login(client, user.email, NEW_PASSWORD).status_code == 200
    assert "was just changed" in text_of(mailbox.next_to(user.email))

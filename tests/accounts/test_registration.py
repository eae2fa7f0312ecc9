"""Registration, e-mail verification codes (real mail through SMTP), and no enumeration."""

from __future__ import annotations

from datetime import timedelta

from app.models.accounts import EmailCode
from app.models.users import User
from tests.accounts.conftest import PASSWORD, html_of, text_of
from tests.accounts.helpers import bearer, code_from, login, user_with_password


def register(client, email: str, password: str = PASSWORD, name: str = "Ada"):
    return client.post("/api/auth/register", json={"email": email, "password": password,
                                                   "name": name})


def test_register_verify_sign_in_and_me(client, mailbox, worker) -> None:
    response = register(client, "Ada@Example.com")
    assert response.status_code == 202
    assert response.json["status"] == "pending_verification"

    message = mailbox.next_to("ada@example.com")
    assert message["Subject"].startswith("Your Smart AI Hub verification code: ")
    assert message.is_multipart()
    code = code_from(message)
    assert code in html_of(message)

    token = login(client, "ada@example.com").json["access_token"]
    me = client.get("/api/me", headers=bearer(token)).json
    assert me["email"] == "ada@example.com" and me["email_verified"] is False
    assert me["name"] == "Ada" and me["role"] == "user" and me["auth_method"] == "jwt"

    verified = client.post("/api/auth/verify-email", json={"email": "ADA@example.com",
                                                           "code": code})
    assert verified.status_code == 200 and verified.json == {"status": "verified"}
    assert client.get("/api/me", headers=bearer(token)).json["email_verified"] is True
    assert User.get(User.email == "ada@example.com").password_hash.startswith("$argon2id$")


def test_registering_a_taken_address_answers_the_same_and_mails_the_owner(
        client, mailbox, worker) -> None:
    user_with_password(email="taken@example.com")
    fresh = register(client, "fresh@example.com")
    taken = register(client, "taken@example.com", password="another good passphrase")
    assert (taken.status_code, taken.json) == (fresh.status_code, fresh.json)
    messages = {m["To"]: m for m in (mailbox.next(), mailbox.next())}
    assert "tried to create a Smart AI Hub account" in text_of(messages["taken@example.com"])
    assert "verification code" in text_of(messages["fresh@example.com"])
    assert User.select().where(User.email == "taken@example.com").count() == 1


def test_password_policy_names_the_rule_and_creates_nothing(client) -> None:
    cases = {
        "short": ("x@example.com", "Sh0rt!"),
        "the e-mail": ("someone.long@example.com", "someone.long@example.com"),
        "common": ("y@example.com", "1234567890"),
    }
    for email, password in cases.values():
        response = register(client, email, password)
        assert response.status_code == 422
        assert response.json["error"]["code"] == "weak_password"
        assert response.json["error"]["message"].startswith("password:")
    assert User.select().count() == 0


def test_invalid_address_is_422(client) -> None:
    response = register(client, "not-an-address")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_email"
    missing = client.post("/api/auth/register", json={"password": PASSWORD})
    assert missing.status_code == 422 and missing.json["error"]["message"].startswith("email:")


def _user_and_code(client, mailbox, email: str) -> tuple[User, str]:
    register(client, email)
    return User.get(User.email == email), code_from(mailbox.next_to(email))


def test_six_wrong_codes_void_the_code(client, mailbox, worker) -> None:
    user, code = _user_and_code(client, mailbox, "wrong@example.com")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = client.post("/api/auth/verify-email", json={"email": user.email,
                                                                "code": wrong})
        assert response.status_code == 400 and response.json["error"]["code"] == "invalid_code"
    # The sixth try, even with the right code, is refused: the code is void.
    response = client.post("/api/auth/verify-email", json={"email": user.email, "code": code})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_code"
    assert User.get_by_id(user.id).email_verified_at is None


def test_expired_code_is_refused(client, mailbox, worker) -> None:
    user, code = _user_and_code(client, mailbox, "late@example.com")
    EmailCode.update(expires_at=EmailCode.expires_at - timedelta(minutes=11)).where(
        EmailCode.user == user).execute()
    response = client.post("/api/auth/verify-email", json={"email": user.email, "code": code})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_code"


def test_unknown_address_and_bad_code_look_alike(client) -> None:
    response = client.post("/api/auth/verify-email", json={"email": "nobody@example.com",
                                                           "code": "123456"})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_code"
    malformed = client.post("/api/auth/verify-email", json={"email": "a@example.com",
                                                            "code": "12ab"})
    assert malformed.status_code == 422 and malformed.json["error"]["message"].startswith("code:")


def test_resend_is_throttled_to_one_a_minute(client, mailbox, worker) -> None:
    user, first = _user_and_code(client, mailbox, "again@example.com")
    unknown = client.post("/api/auth/verify-email/resend", json={"email": "nobody@example.com"})
    too_soon = client.post("/api/auth/verify-email/resend", json={"email": user.email})
    assert (too_soon.status_code, too_soon.json) == (unknown.status_code, unknown.json) \
        == (202, unknown.json)
    worker.drain()
    assert mailbox.empty()  # the throttled resend sent nothing
    # A minute later a resend mails a new code, and the old one no longer works.
    EmailCode.update(created_at=EmailCode.created_at - timedelta(seconds=61)).where(
        EmailCode.user == user).execute()
    client.post("/api/auth/verify-email/resend", json={"email": user.email})
    second = code_from(mailbox.next_to(user.email))
    stale = client.post("/api/auth/verify-email", json={"email": user.email, "code": first})
    assert first == second or stale.json["error"]["code"] == "invalid_code"
    ok = client.post("/api/auth/verify-email", json={"email": user.email, "code": second})
    assert ok.status_code == 200


def test_verified_account_answers_like_a_wrong_code(client) -> None:
    user = user_with_password()  # verified
    response = client.post("/api/auth/verify-email", json={"email": user.email, "code": "123456"})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_code"

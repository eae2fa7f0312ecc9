"""Accounts: registration, e-mail verification, password sign-in, password change and reset,
Google sign-in, and the operator's account commands.

Nothing here tells a caller whether an e-mail address has an account: register, resend and
forgot-password answer alike either way (the mail that follows differs, and only the owner of
the address reads it), and sign-in costs one argon2 check either way.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import quote

import structlog
from email_validator import EmailNotValidError, validate_email
from peewee import IntegrityError

from app import dispatch
from app.errors import Conflict, HubError, NotFound
from app.extensions import db
from app.models.accounts import OAuthIdentity, PasswordResetToken
from app.models.base import utcnow
from app.models.users import ROLES, STAFF_ROLES, User
from app.security.authenticate import two_factor_missing
from app.security.crypto import keyed_hash, random_token
from app.security.errors import (
    AccountDisabled,
    Forbidden,
    InvalidCredentials,
    InvalidResetToken,
    TwoFactorRequired,
    TwoFactorSetupRequired,
)
from app.security.passwords import (
    WeakPassword,
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from app.services import api_keys, audit, auth_tokens, email_codes, two_factor, user_admin
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)

RESET_TOKEN_TTL = timedelta(minutes=30)


class InvalidEmail(HubError):
    http_status = 422
    code = "invalid_email"


class GoogleEmailNotVerified(HubError):
    """Google has not verified this account's e-mail address, so it cannot sign in here."""

    http_status = 403
    code = "google_email_not_verified"


def normalize_email(raw: str) -> str:
    """Validated, lower-cased address; InvalidEmail (422) names the problem."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"email: {exc}") from None
    return result.normalized.lower()


def _lookup_email(raw: str) -> str:
    try:
        return normalize_email(raw)
    except InvalidEmail:
        return raw.strip().lower()


def _send(to: str, template: str, context: dict) -> None:
    dispatch.send("mail.send_mail", to, template, context)


def _code_context(user: User, code: str) -> dict:
    minutes = int(email_codes.CODE_TTL.total_seconds() // 60)
    return {"name": user.name, "code": code, "expires_minutes": minutes,
            "verify_url": f"{current_settings().public_url}/verify?email={quote(user.email)}"}


# --- registration and verification ---------------------------------------------------------
def register(email: str, password: str, name: str) -> None:
    """Create an unverified account and mail it a code; a taken address gets a notice instead."""
    email = normalize_email(email)
    check_password_policy(password, email=email)
    password_hash = hash_password(password)  # also for a taken address: same cost either way
    try:
        with db.atomic():
            user = User.create(email=email, name=name.strip(), password_hash=password_hash)
            code = email_codes.issue_code(user)
    except IntegrityError:
        existing = User.get_or_none(User.email == email)
        if existing is not None:
            _send(email, "account_exists",
                  {"name": existing.name, "login_url": f"{current_settings().public_url}/login",
                   "reset_url": f"{current_settings().public_url}/forgot"})
        log.info("register_existing_address")
        return
    _send(email, "verify_email", _code_context(user, code))
    log.info("user_registered", user_id=user.id)


def verify_email(email: str, code: str) -> User:
    user = User.get_or_none(User.email == _lookup_email(email))
    if user is None or user.is_verified:  # alike: no hint whether the address has an account
        raise email_codes.InvalidCode()
    email_codes.consume_code(user, code)
    User.update(email_verified_at=utcnow()).where(User.id == user.id).execute()
    user.email_verified_at = utcnow()
    log.info("email_verified", user_id=user.id)
    return user


def request_verification_code(email: str) -> None:
    dispatch.send("accounts.resend_verification_code", _lookup_email(email))


def send_verification_code(email: str) -> None:
    """Mail a new code if the account exists, is unverified and had none in the last minute."""
    user = User.get_or_none(User.email == email)
    if user is None or user.is_verified or not user.is_active:
        return
    if not email_codes.may_resend(user):
        log.info("verification_code_throttled", user_id=user.id)
        return
    _send(user.email, "verify_email", _code_context(user, email_codes.issue_code(user)))


# --- sign-in -------------------------------------------------------------------------------
def authenticate_password(email: str, password: str) -> User:
    """The account these credentials open; one argon2 check whether or not it exists."""
    user = User.get_or_none(User.email == _lookup_email(email))
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountDisabled()
    if needs_rehash(user.password_hash):
        User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
    return user


def check_second_factor(user: User, totp_code: str | None) -> None:
    """Two-factor step of a sign-in: required if the user turned it on, or is staff in prod."""
    if user.has_two_factor:
        if not totp_code:
            raise TwoFactorRequired()
        two_factor.verify_second_factor(user, totp_code)
    elif two_factor_missing(user):
        raise TwoFactorSetupRequired()


def record_login(user: User) -> None:
    User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
    user.last_login_at = utcnow()
    log.info("user_signed_in", user_id=user.id)


def login(email: str, password: str, totp_code: str | None) -> auth_tokens.TokenPair:
    user = authenticate_password(email, password)
    check_second_factor(user, totp_code)
    record_login(user)
    return auth_tokens.issue_token_pair(user)


def disable_two_factor(user: User, password: str | None, code: str) -> None:
    """Needs a current second factor, and the password when the account has one."""
    if user.password_hash and not verify_password(user.password_hash, password or ""):
        raise InvalidCredentials("the password is wrong")
    if current_settings().HUB_ENV == "production" and user.role in STAFF_ROLES:
        raise Forbidden("staff accounts must keep two-factor sign-in on")
    two_factor.verify_second_factor(user, code)
    two_factor.disable(user)


# --- passwords -----------------------------------------------------------------------------
def _password_changed_mail(user: User, *, api_keys_revoked: int) -> None:
    """Tell the owner, and whether their API keys still work (a password change or reset
    leaves them unless asked to revoke them)."""
    _send(user.email, "password_changed",
          {"name": user.name, "api_keys_revoked": api_keys_revoked,
           "api_keys_kept": api_keys.active_key_count(user)})


def change_password(user: User, old_password: str, new_password: str, *,
                    revoke_api_keys: bool = False) -> None:
    """Needs the old password; signs out every other token and session (and revokes every API
    key if asked)."""
    if not verify_password(user.password_hash, old_password):
        raise InvalidCredentials("the current password is wrong")
    check_password_policy(new_password, email=user.email, field="new_password")
    User.update(password_hash=hash_password(new_password)).where(User.id == user.id).execute()
    revoked = auth_tokens.revoke_all_for_user(user, revoke_api_keys=revoke_api_keys)
    _password_changed_mail(user, api_keys_revoked=revoked)
    log.info("password_changed", user_id=user.id)


def request_password_reset(email: str) -> None:
    dispatch.send("accounts.send_password_reset", _lookup_email(email))


def send_password_reset(email: str) -> None:
    """Mail a single-use reset link to the account at `email`, if there is an active one."""
    user = User.get_or_none(User.email == email)
    if user is None or not user.is_active:
        log.info("password_reset_unknown_address")
        return
    token = random_token(32)
    PasswordResetToken.create(user=user, token_hash=keyed_hash("reset-token", token),
                              expires_at=utcnow() + RESET_TOKEN_TTL)
    # The token rides in the fragment: browsers never send it to the server, so it stays out of
    # access logs, proxies and Referer headers (the page's script puts it in the form).
    _send(user.email, "password_reset",
          {"name": user.name, "reset_url": f"{current_settings().public_url}/reset#token={token}",
           "expires_minutes": int(RESET_TOKEN_TTL.total_seconds() // 60)})
    log.info("password_reset_sent", user_id=user.id)


def reset_password(token: str, new_password: str) -> User:
    """Spend the reset token, set the password, and revoke every token and session (not the
    API keys)."""
    with db.atomic():
        row = PasswordResetToken.get_or_none(
            PasswordResetToken.token_hash == keyed_hash("reset-token", token))
        if row is None or row.used_at is not None or row.expires_at <= utcnow():
            raise InvalidResetToken()
        user = row.user
        check_password_policy(new_password, email=user.email)
        spent = PasswordResetToken.update(used_at=utcnow()).where(
            PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_null()).execute()
        if spent != 1:
            raise InvalidResetToken()
        # The link proved the address: a reset also verifies an unverified account.
        User.update(password_hash=hash_password(new_password),
                    email_verified_at=user.email_verified_at or utcnow()).where(
            User.id == user.id).execute()
        PasswordResetToken.update(used_at=utcnow()).where(
            PasswordResetToken.user == user, PasswordResetToken.used_at.is_null()).execute()
    # API keys stay: forgetting a password is far likelier than a breach, and revoking would
    # stop the owner's unattended programs unannounced. The mail says they still work and
    # where to revoke them (/keys).
    auth_tokens.revoke_all_for_user(user)
    _password_changed_mail(user, api_keys_revoked=0)
    log.info("password_reset_done", user_id=user.id)
    return User.get_by_id(user.id)


# --- Google --------------------------------------------------------------------------------
def sign_in_with_google(*, subject: str, email: str, email_verified: bool, name: str) -> User:
    """The account for a Google identity: linked, found by verified e-mail, or created.

    An unverified Google address is refused. Linking to a local account that was never
    verified clears its password: whoever registered it could not prove the address, so they
    must not keep a way in (pre-hijack defence).
    """
    if not email_verified:
        raise GoogleEmailNotVerified()
    identity = OAuthIdentity.get_or_none(OAuthIdentity.provider == "google",
                                         OAuthIdentity.subject == subject)
    if identity is not None:
        user = identity.user
    else:
        address = normalize_email(email)
        with db.atomic():
            user = User.get_or_none(User.email == address)
            if user is None:
                user = User.create(email=address, name=name[:120], password_hash=None,
                                   email_verified_at=utcnow())
                log.info("user_registered_with_google", user_id=user.id)
            elif not user.is_verified:
                User.update(email_verified_at=utcnow(), password_hash=None).where(
                    User.id == user.id).execute()
                auth_tokens.revoke_all_for_user(user)
                user = User.get_by_id(user.id)
            OAuthIdentity.create(user=user, provider="google", subject=subject)
            log.info("google_identity_linked", user_id=user.id)
    if not user.is_active:
        raise AccountDisabled()
    return user


# --- operator commands ---------------------------------------------------------------------
def create_user(email: str, password: str, *, role: str = "user", verified: bool = False,
                name: str = "") -> User:
    if role not in ROLES:
        raise HubError(f"role: must be one of {', '.join(ROLES)}")
    email = normalize_email(email)
    check_password_policy(password, email=email)
    try:
        return User.create(email=email, name=name, role=role, password_hash=hash_password(password),
                           email_verified_at=utcnow() if verified else None)
    except IntegrityError:
        raise Conflict(f"an account for {email} already exists") from None


def ensure_admin(email: str, password: str) -> tuple[User | None, str | None]:
    """Make sure an admin exists. With `email`/`password` (HUB_ADMIN_*), that account is created
    (or promoted); without them, one is generated only when no admin exists. Returns the admin
    created and the generated password (printed once), or (None, None) if nothing changed."""
    if email and password:
        address = normalize_email(email)
        user = User.get_or_none(User.email == address)
        if user is None:
            return create_user(address, password, role="admin", verified=True, name="Admin"), None
        if user.role != "admin":
            return user_admin.update_user(user.id, {"role": "admin"}, actor_id=None,
                                          actor_label=audit.cli_actor_label()), None
        return None, None
    if User.select().where(User.role == "admin").exists():
        return None, None
    generated = secrets.token_urlsafe(18)
    return create_user(email or "admin@localhost.localdomain", generated, role="admin",
                       verified=True, name="Admin"), generated


def find_user(email: str) -> User:
    user = User.get_or_none(User.email == _lookup_email(email))
    if user is None:
        raise NotFound(f"no account for {email}")
    return user


__all__ = ["GoogleEmailNotVerified", "InvalidEmail", "WeakPassword", "authenticate_password",
           "change_password", "check_second_factor", "create_user", "disable_two_factor", "ensure_admin", "find_user",
           "login", "normalize_email", "record_login", "register", "request_password_reset",
           "request_verification_code", "reset_password", "send_password_reset",
           "send_verification_code", "sign_in_with_google", "verify_email"]

"""Optional TOTP two-factor sign-in (RFC 6238, pyotp) with single-use recovery codes.

Required for `admin` and `support` accounts when HUB_ENV=production (see
`app.security.authenticate.two_factor_missing`). Turning it on ends every session and token of
the user (the caller is signed in afresh). A TOTP code is accepted once: the time step of
the last accepted code is stored, so a code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import time

import pyotp
import structlog

from app.errors import Conflict
from app.extensions import db
from app.models.accounts import RecoveryCode
from app.models.base import utcnow
from app.models.users import User
from app.security.crypto import decrypt, encrypt, keyed_hash, random_alphanumeric
from app.security.errors import InvalidTwoFactorCode
from app.services import auth_tokens
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)

RECOVERY_CODE_COUNT = 10
STEP_S = 30
VALID_WINDOW_STEPS = 1  # accept the previous and next 30-s step too (clock drift)


def _recovery_hash(user_id: int, code: str) -> str:
    normalized = code.strip().replace("-", "").lower()
    return keyed_hash("recovery-code", f"{user_id}:{normalized}")


def begin_setup(user: User) -> tuple[str, str]:
    """Store a new (not yet enabled) secret; return it and its otpauth:// URI for the QR code."""
    if user.has_two_factor:
        raise Conflict("two-factor sign-in is already on; turn it off first to change it")
    secret = pyotp.random_base32()
    User.update(totp_secret=encrypt(secret)).where(User.id == user.id).execute()
    user.totp_secret = encrypt(secret)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email,
                                              issuer_name=current_settings().HUB_TOTP_ISSUER)
    return secret, uri


def _matching_step(user: User, code: str) -> int | None:
    if not user.totp_secret or not code.strip().isdigit():
        return None
    totp = pyotp.TOTP(decrypt(user.totp_secret))
    now_step = int(time.time()) // STEP_S
    for step in range(now_step - VALID_WINDOW_STEPS, now_step + VALID_WINDOW_STEPS + 1):
        if totp.at(step * STEP_S) == code.strip():
            return step
    return None


def _accept_totp(user: User, code: str) -> bool:
    step = _matching_step(user, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    # Conditional update: of two concurrent uses of one code, only one wins.
    updated = User.update(totp_last_step=step).where(
        (User.id == user.id)
        & (User.totp_last_step.is_null() | (User.totp_last_step < step))).execute()
    user.totp_last_step = step
    return updated == 1


def enable(user: User, code: str) -> list[str]:
    """Turn two-factor on after the user proves the authenticator works; return recovery codes.

    Every session and token of the user ends (auth version bumped, refresh tokens revoked): one
    signed in before with the password alone must not stay in. The caller re-issues its own
    session or token pair."""
    if user.has_two_factor:
        raise Conflict("two-factor sign-in is already on")
    if not user.totp_secret:
        raise Conflict("start the setup first")
    if not _accept_totp(user, code):
        raise InvalidTwoFactorCode()
    codes = [f"{random_alphanumeric(5)}-{random_alphanumeric(5)}".lower()
             for _ in range(RECOVERY_CODE_COUNT)]
    with db.atomic():
        RecoveryCode.delete().where(RecoveryCode.user == user).execute()
        RecoveryCode.insert_many([{"user": user.id, "code_hash": _recovery_hash(user.id, c)}
                                  for c in codes]).execute()
        User.update(totp_enabled_at=utcnow()).where(User.id == user.id).execute()
        auth_tokens.revoke_all_for_user(user)
    user.totp_enabled_at = utcnow()
    log.info("two_factor_enabled", user_id=user.id)
    return codes


def disable(user: User) -> None:
    with db.atomic():
        RecoveryCode.delete().where(RecoveryCode.user == user).execute()
        User.update(totp_enabled_at=None, totp_secret=None, totp_last_step=None).where(
            User.id == user.id).execute()
    user.totp_enabled_at = user.totp_secret = user.totp_last_step = None
    log.info("two_factor_disabled", user_id=user.id)


def verify_second_factor(user: User, code: str | None) -> None:
    """Accept an authenticator code or an unused recovery code; raise InvalidTwoFactorCode."""
    if not code:
        raise InvalidTwoFactorCode()
    if _accept_totp(user, code):
        return
    used = RecoveryCode.update(used_at=utcnow()).where(
        RecoveryCode.user == user, RecoveryCode.used_at.is_null(),
        RecoveryCode.code_hash == _recovery_hash(user.id, code)).execute()
    if used != 1:
        raise InvalidTwoFactorCode()
    log.info("recovery_code_used", user_id=user.id)


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.select().where(RecoveryCode.user == user,
                                       RecoveryCode.used_at.is_null()).count()

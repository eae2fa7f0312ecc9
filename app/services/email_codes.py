"""Six-digit e-mail verification codes: hashed, 10 minutes, 5 wrong attempts, resend ≤ 1/min."""

from __future__ import annotations

import secrets
from datetime import timedelta

from app.extensions import db
from app.models.accounts import EmailCode
from app.models.base import utcnow
from app.models.users import User
from app.security.crypto import hashes_equal, keyed_hash
from app.security.errors import InvalidCode
from app.transactions import locked

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_INTERVAL = timedelta(minutes=1)


def _hash(user_id: int, code: str) -> str:
    return keyed_hash("email-code", f"{user_id}:{code}")


def issue_code(user: User) -> str:
    """Void the user's open codes and return a fresh one (to be mailed, never stored)."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    with db.atomic():
        EmailCode.update(consumed_at=utcnow()).where(
            EmailCode.user == user, EmailCode.consumed_at.is_null()).execute()
        EmailCode.create(user=user, code_hash=_hash(user.id, code),
                         expires_at=utcnow() + CODE_TTL)
    return code


def may_resend(user: User) -> bool:
    last = (EmailCode.select(EmailCode.created_at).where(EmailCode.user == user)
            .order_by(EmailCode.created_at.desc()).first())
    return last is None or utcnow() - last.created_at >= RESEND_INTERVAL


def consume_code(user: User, code: str) -> None:
    """Accept `code` once; each wrong try counts, and the fifth voids the code."""
    with db.atomic():
        query = (EmailCode.select().where(EmailCode.user == user,
                                          EmailCode.consumed_at.is_null())
                 .order_by(EmailCode.created_at.desc()))
        row = locked(query).first()
        if row is None or row.expires_at <= utcnow():
            raise InvalidCode()
        if hashes_equal(row.code_hash, _hash(user.id, code.strip())):
            row.consumed_at = utcnow()
            row.save()
            return
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            row.consumed_at = utcnow()
        row.save()
    raise InvalidCode()

"""Factories for rows tests need, so tests never hand-build them."""

from __future__ import annotations

import itertools
import uuid

from app.models.base import utcnow
from app.models.jobs import Job
from app.models.payments import Payment, PaymentFlag
from app.models.users import User
from app.security.tokens import issue_access_token

_counter = itertools.count(1)


def create_user(*, email: str | None = None, role: str = "user", verified: bool = True,
                name: str = "Test User", active: bool = True) -> User:
    email = email or f"user{next(_counter)}-{uuid.uuid4().hex[:6]}@example.com"
    return User.create(email=email.lower(), name=name, role=role, is_active=active,
                       email_verified_at=utcnow() if verified else None)


def auth_headers(user: User, secret_key: str) -> dict[str, str]:
    token, _ = issue_access_token(user.id, key=secret_key)
    return {"Authorization": f"Bearer {token}"}


def create_payment_flag(user: User, *, kind: str = "dispute") -> PaymentFlag:
    """An open back-office flag on a paid (then disputed) purchase of `user`."""
    payment = Payment.create(user=user, package_slug="starter", package_name="Starter",
                             amount_cents=500, currency="usd", amount_credits=500_000,
                             status="disputed", stripe_session_id=f"cs_test_{uuid.uuid4().hex}")
    return PaymentFlag.create(user=user, payment=payment, kind=kind,
                              reference=f"du_{uuid.uuid4().hex[:16]}",
                              details="reason=fraudulent amount=500 usd")


def create_job(user: User, **fields: object) -> Job:
    """A job row of `user` (queued chat unless `fields` say otherwise); no hold, no worker."""
    values: dict[str, object] = {"type": "chat", "model": "local-echo", "request_json": "{}",
                                 "price_id": 0, **fields}
    return Job.create(user=user, **values)


def create_turn(user: User, text: str = "hello", *, job: Job | None = None,
                conversation_id: str | None = None, model: str = "local-echo",
                images: list[str] | None = None):
    """A turn of a conversation (a new one unless `conversation_id`) through the service, its
    reply pending on `job` (none: a turn still being sent); no hold, no worker."""
    from app.services import conversations

    turn = conversations.begin_turn(user.id, conversation_id,
                                    conversations.new_turn(text, images), model=model)
    if job is not None:
        conversations.attach_job(turn, job.id)
    return turn

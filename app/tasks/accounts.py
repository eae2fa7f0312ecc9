"""Account actors. Forgot-password and code re-sends run here, not in the request, so the
request does the same work (one enqueue) whether or not the account exists."""

from __future__ import annotations

from app.queue import hub_actor
from app.services import accounts


@hub_actor(queue_name="mail", max_retries=3, time_limit=30_000)
def send_password_reset(email: str) -> None:
    accounts.send_password_reset(email)


@hub_actor(queue_name="mail", max_retries=3, time_limit=30_000)
def resend_verification_code(email: str) -> None:
    accounts.send_verification_code(email)

"""Stripe webhook events: verified, recorded once, and handled in the same transaction.

The event's row is inserted first in the transaction that does its work (receipts and other
mail are queued only after that transaction commits). A duplicate delivery
racing the first one waits on that row's unique key: if the first commits, the duplicate sees a
conflict and answers 200 without doing anything; if the first fails, the row is rolled back
with its work, and the duplicate (or Stripe's retry) does the work instead. So the webhook
answers 2xx only once the work is committed, and a failure answers 5xx so Stripe retries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import stripe
import structlog

from app import json_input
from app.models.payments import StripeEvent
from app.services.payments.errors import (
    WebhookNotConfigured,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
)
from app.services.payments.fulfilment import PAID, close_session, fulfil_session
from app.services.payments.locking import write_transaction
from app.services.payments.reversals import apply_dispute, apply_refunds
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    type: str
    duplicate: bool
    outcome: str


def verify(payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if `signature` is Stripe's for `payload` and recent enough; else 400."""
    settings = current_settings()
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise WebhookNotConfigured()
    try:
        event = json_input.loads(payload)
    except ValueError:
        event = None
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise WebhookPayloadInvalid()
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise WebhookPayloadInvalid("the event has no data.object")
    try:
        stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET,
                                       tolerance=settings.HUB_STRIPE_WEBHOOK_TOLERANCE_S)
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureInvalid(f"the Stripe-Signature header is not valid: {exc}") from exc
    return event


def _session_completed(obj: Mapping[str, Any]) -> str:
    result = fulfil_session(obj)
    if result is None:
        return "not_ours"
    if result.credited:
        return "credited"
    return "already_credited" if obj.get("payment_status") in PAID else "awaiting_payment"


def _closed(status: str) -> Callable[[Mapping[str, Any]], str]:
    def handle(obj: Mapping[str, Any]) -> str:
        return f"marked_{status}" if close_session(obj, status) else "unchanged"

    return handle


def _reversal(apply: Callable[[Mapping[str, Any]], Any]) -> Callable[[Mapping[str, Any]], str]:
    def handle(obj: Mapping[str, Any]) -> str:
        result = apply(obj)
        if result is None:
            return "not_ours"
        return f"reversed {result.reversed_credits} shortfall {result.shortfall_credits}"

    return handle


HANDLERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _session_completed,
    "checkout.session.async_payment_failed": _closed("failed"),
    "checkout.session.expired": _closed("expired"),
    "charge.refunded": _reversal(apply_refunds),
    "charge.dispute.created": _reversal(apply_dispute),
}


def handle_event(event: Mapping[str, Any]) -> WebhookOutcome:
    event_id, event_type = event["id"], event["type"]
    handler = HANDLERS.get(event_type)
    if handler is None:
        log.info("stripe_event_ignored", event_id=event_id, type=event_type)
        return WebhookOutcome(event_id, event_type, False, "ignored")
    with write_transaction():
        inserted = StripeEvent.insert(event_id=event_id, type=event_type) \
            .on_conflict_ignore().as_rowcount().execute()
        if not inserted:
            log.info("stripe_event_duplicate", event_id=event_id, type=event_type)
            return WebhookOutcome(event_id, event_type, True, "duplicate")
        outcome = handler(event["data"]["object"])
        StripeEvent.update(outcome=outcome[:120]).where(StripeEvent.event_id == event_id).execute()
    log.info("stripe_event_handled", event_id=event_id, type=event_type, outcome=outcome)
    return WebhookOutcome(event_id, event_type, False, outcome)


def handle_webhook(payload: bytes, signature: str | None) -> WebhookOutcome:
    return handle_event(verify(payload, signature))

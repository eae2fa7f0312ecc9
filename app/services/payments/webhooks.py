"""Stripe webhook events: verified, recorded once, and handled in the same transaction.

Each event type has a handler in two steps. `prepare` runs first, outside any transaction: it
asks Stripe what the event needs (a charge's refunds, the checkout session of a payment not
credited yet), so no row or database lock is held while Stripe answers. `apply` then runs in
the event's transaction and never calls Stripe.

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
from app.services.payments import disputes, refunds
from app.services.payments.errors import (
    WebhookNotConfigured,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
)
from app.services.payments.fulfilment import PAID, close_session, fulfil_session
from app.services.runtime import current_settings
from app.transactions import write_transaction

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


@dataclass(frozen=True)
class EventHandler:
    """`prepare(object)` may ask Stripe and runs before the transaction; `apply(prepared)`
    runs inside it, never asks Stripe, and returns the outcome recorded with the event."""

    prepare: Callable[[Mapping[str, Any]], Any]
    apply: Callable[[Any], str]


def _as_is(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj


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


def _moved(apply: Callable[[Any], Any]) -> Callable[[Any], str]:
    """A refund or dispute handler's outcome; nothing prepared means not a hub payment."""

    def handle(prepared: Any) -> str:
        return "not_ours" if prepared is None else apply(prepared).describe()

    return handle


def _reinstated(dispute: Mapping[str, Any]) -> Any:
    return disputes.seen_dispute(dispute, funds_reinstated=True)


SESSION_COMPLETED = EventHandler(_as_is, _session_completed)
REFUND = EventHandler(refunds.seen_alone, _moved(refunds.apply))
DISPUTE = EventHandler(disputes.seen_dispute, _moved(disputes.apply))

HANDLERS: dict[str, EventHandler] = {
    "checkout.session.completed": SESSION_COMPLETED,
    "checkout.session.async_payment_succeeded": SESSION_COMPLETED,
    "checkout.session.async_payment_failed": EventHandler(_as_is, _closed("failed")),
    "checkout.session.expired": EventHandler(_as_is, _closed("expired")),
    "charge.refunded": EventHandler(refunds.seen_on_charge, _moved(refunds.apply)),
    "charge.refund.updated": REFUND,
    "refund.created": REFUND,
    "refund.updated": REFUND,
    "refund.failed": REFUND,
    "charge.dispute.created": DISPUTE,
    "charge.dispute.updated": DISPUTE,
    "charge.dispute.closed": DISPUTE,
    "charge.dispute.funds_withdrawn": DISPUTE,
    "charge.dispute.funds_reinstated": EventHandler(_reinstated, _moved(disputes.apply)),
}


def _recorded(event_id: str) -> bool:
    return StripeEvent.select().where(StripeEvent.event_id == event_id).exists()


def handle_event(event: Mapping[str, Any]) -> WebhookOutcome:
    event_id, event_type = event["id"], event["type"]
    handler = HANDLERS.get(event_type)
    if handler is None:
        log.info("stripe_event_ignored", event_id=event_id, type=event_type)
        return WebhookOutcome(event_id, event_type, False, "ignored")
    if _recorded(event_id):  # the usual duplicate: answered without asking Stripe anything
        log.info("stripe_event_duplicate", event_id=event_id, type=event_type)
        return WebhookOutcome(event_id, event_type, True, "duplicate")
    prepared = handler.prepare(event["data"]["object"])
    with write_transaction():
        inserted = StripeEvent.insert(event_id=event_id, type=event_type) \
            .on_conflict_ignore().as_rowcount().execute()
        if not inserted:
            log.info("stripe_event_duplicate", event_id=event_id, type=event_type)
            return WebhookOutcome(event_id, event_type, True, "duplicate")
        outcome = handler.apply(prepared)
        StripeEvent.update(outcome=outcome[:120]).where(StripeEvent.event_id == event_id).execute()
    log.info("stripe_event_handled", event_id=event_id, type=event_type, outcome=outcome)
    return WebhookOutcome(event_id, event_type, False, outcome)


def handle_webhook(payload: bytes, signature: str | None) -> WebhookOutcome:
    return handle_event(verify(payload, signature))

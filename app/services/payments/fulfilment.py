"""Turning a paid Checkout Session into credits, exactly once.

Both the webhook and the reconciliation job call `fulfil_session` with the session as Stripe
reports it. The payment row is locked first, so concurrent callers queue; the ledger credit uses
the idempotency key `stripe:checkout:<session_id>`, so even a caller that slipped past the row
check could not credit twice. The credit, the payment's new status and (for the webhook) the
event record commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from peewee import fn

from app.extensions import db
from app.models.base import utcnow
from app.models.payments import CreditPackage, Payment
from app.services import ledger
from app.services.payments import gateway, notifications
from app.services.payments.errors import PaymentProviderError
from app.services.runtime import current_settings
from app.transactions import locked, write_transaction

log = structlog.get_logger(__name__)

PAID = frozenset({"paid", "no_payment_required"})
OPEN_STATUSES = frozenset({"pending", "failed", "expired"})  # nothing credited yet


@dataclass(frozen=True)
class Fulfilment:
    payment_id: int
    status: str
    credited: bool  # this call moved the credits (False: already credited, or not paid)
    row_was_missing: bool  # the payment row was rebuilt from the session's metadata


def checkout_key(session_id: str) -> str:
    return f"stripe:checkout:{session_id}"


def is_hub_session(session: Mapping[str, Any]) -> bool:
    """A payment-mode session the hub created (it carries our metadata)."""
    metadata = session.get("metadata") or {}
    return session.get("mode") == "payment" and all(
        str(metadata.get(name, "")).isdigit() for name in ("hub_user_id", "credits")
    ) and bool(metadata.get("package"))


def locked_payment(session: Mapping[str, Any]) -> tuple[Payment, bool]:
    """The session's payment row, locked; rebuilt from the metadata if the hub lost it
    (e.g. the process died between creating the session and writing the row)."""
    metadata = session["metadata"]
    package = CreditPackage.get_or_none(CreditPackage.slug == metadata["package"])
    inserted = Payment.insert(
        user=int(metadata["hub_user_id"]), package_slug=metadata["package"],
        package_name=package.name if package else metadata["package"],
        amount_cents=session.get("amount_total") or 0, currency=session.get("currency") or "usd",
        amount_credits=int(metadata["credits"]), stripe_session_id=session["id"],
    ).on_conflict_ignore().as_rowcount().execute()
    payment = locked(Payment.select().where(Payment.stripe_session_id == session["id"])).get()
    return payment, bool(inserted)


def fulfil_session(session: Mapping[str, Any]) -> Fulfilment | None:
    """Credit a paid hub session once; record what Stripe says of an unpaid one.

    Returns None for sessions the hub did not create.
    """
    if not is_hub_session(session):
        return None
    with write_transaction():
        payment, row_was_missing = locked_payment(session)
        if session.get("payment_intent") and not payment.stripe_payment_intent_id:
            payment.stripe_payment_intent_id = session["payment_intent"]
        credited = False
        if session.get("payment_status") in PAID and payment.ledger_entry_id is None:
            movement = ledger.credit(
                payment.user_id, payment.amount_credits, kind="purchase",
                idempotency_key=checkout_key(payment.stripe_session_id),
                reference=f"payment:{payment.id}", memo=f"{payment.package_name} credits")
            payment.ledger_entry_id = movement.entry_id
            payment.credited_at = utcnow()
            if payment.status in OPEN_STATUSES:
                payment.status = "paid"
            credited = not movement.replayed
            if credited:
                db.after_commit(lambda payment_id=payment.id: after_credit(payment_id))
        payment.updated_at = utcnow()
        payment.save()
    if credited:
        log.info("payment_credited", payment_id=payment.id, user_id=payment.user_id,
                 session_id=payment.stripe_session_id, credits=payment.amount_credits)
    return Fulfilment(payment.id, payment.status, credited, row_was_missing)


def after_credit(payment_id: int) -> None:
    """Once a credit has committed: look up Stripe's receipt link (best effort), mail the
    receipt, and re-arm the user's low-balance alert if the purchase lifted them above it."""
    payment = Payment.get_by_id(payment_id)
    if payment.stripe_payment_intent_id and current_settings().payments_enabled:
        _record_receipt(payment)
    notifications.send_receipt(payment_id)
    notifications.check_low_balance(payment.user_id)


def _record_receipt(payment: Payment) -> None:
    try:
        charge_id, receipt_url = gateway.retrieve_receipt(payment.stripe_payment_intent_id)
    except PaymentProviderError:
        log.warning("receipt_lookup_failed", payment_id=payment.id)
        return
    Payment.update(stripe_charge_id=fn.COALESCE(Payment.stripe_charge_id, charge_id),
                   receipt_url=receipt_url, updated_at=utcnow()) \
        .where(Payment.id == payment.id).execute()


def close_session(session: Mapping[str, Any], status: str) -> bool:
    """Mark a never-credited payment `expired` or `failed`; True if it changed."""
    if not is_hub_session(session):
        return False
    with write_transaction():
        payment, _ = locked_payment(session)
        if payment.status != "pending" or payment.ledger_entry_id is not None:
            return False
        payment.status = status
        payment.updated_at = utcnow()
        payment.save()
    log.info("payment_closed", payment_id=payment.id, status=status)
    return True

"""Which hub payment a charge, refund or dispute is about: the part of refund and dispute
handling that may wait on Stripe, so it runs before the event's transaction, never inside it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.models.payments import Payment
from app.services.payments import gateway
from app.services.payments.errors import WebhookPayloadInvalid
from app.services.payments.fulfilment import fulfil_session

MAX_AMOUNT_CENTS = 2**31 - 1  # `amount_cents` columns are INTEGER; Stripe's largest is far below


def object_id(value: Any) -> str | None:
    """An id field that may come expanded (`{"id": …}`) or not at all."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def checked(obj: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    """A refund or dispute whose `id`, `amount` and `status` the hub can use; else 400
    `invalid_payload` naming the field (before anything is asked or recorded)."""
    amount, status = obj.get("amount"), obj.get("status")
    if not isinstance(obj.get("id"), str) or not obj["id"]:
        raise WebhookPayloadInvalid(f"the {what} has no id")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)
                               or not 0 <= amount <= MAX_AMOUNT_CENTS):
        raise WebhookPayloadInvalid(f"the {what}'s amount must be a whole number of cents "
                                    f"from 0 to {MAX_AMOUNT_CENTS}")
    if status is not None and not isinstance(status, str):
        raise WebhookPayloadInvalid(f"the {what}'s status must be a string")
    return obj


def resolve_payment(charge_id: str, payment_intent_id: str | None) -> int | None:
    """The id of the credited hub payment a charge paid, or None if the charge is not the hub's.

    Asks Stripe when the charge is not known yet, and credits the payment first if its
    completion webhook is still due (`fulfil_session` commits on its own). Call it outside any
    transaction: it is the part of refund and dispute handling that waits on Stripe.
    """
    payment = Payment.get_or_none(Payment.stripe_charge_id == charge_id)
    if payment is None and payment_intent_id:
        payment = Payment.get_or_none(Payment.stripe_payment_intent_id == payment_intent_id)
        if payment is None:
            session = gateway.find_checkout_session_for_payment_intent(payment_intent_id)
            if session is not None and fulfil_session(session) is not None:
                payment = Payment.get(Payment.stripe_session_id == session["id"])
    if payment is not None and payment.ledger_entry_id is None:
        fulfil_session(gateway.retrieve_checkout_session(payment.stripe_session_id))
        payment = Payment.get_by_id(payment.id)
    if payment is None or payment.ledger_entry_id is None:
        return None
    return payment.id

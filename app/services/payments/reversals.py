"""Refunds and disputes: taking back the credits a payment bought, once per Stripe object.

A refund or dispute reverses the credits in proportion to the money returned
(`credits × refunded cents ÷ paid cents`, computed on the running total of a charge's refunds
so that partial refunds add up exactly to a full one; each step rounds down, in the user's
favour by less than one credit). If the user already spent the credits the ledger takes what is
available, the balance never goes below zero, and the shortfall is recorded on the payment and
flagged for the back office. A payment is never reversed by more than it credited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from app.extensions import db
from app.models.base import utcnow
from app.models.payments import Payment, PaymentFlag, PaymentReversal
from app.services import ledger
from app.services.payments import gateway, notifications
from app.services.payments.fulfilment import fulfil_session
from app.services.payments.locking import locked, write_transaction

log = structlog.get_logger(__name__)

COUNTED_REFUND_STATUSES = frozenset({"succeeded", "pending"})


@dataclass(frozen=True)
class Reversal:
    payment_id: int
    reversed_credits: int  # what this call took back, including any shortfall
    shortfall_credits: int  # the part the user had already spent


def refund_key(stripe_id: str) -> str:
    return f"stripe:refund:{stripe_id}"


def credits_for(payment: Payment, cents: int) -> int:
    """The credits `cents` of this payment bought, rounded down."""
    if payment.amount_cents <= 0:
        return payment.amount_credits
    return payment.amount_credits * min(max(cents, 0), payment.amount_cents) // payment.amount_cents


def payment_for_charge(charge_id: str, payment_intent_id: str | None) -> Payment | None:
    """The hub payment a charge paid, credited first if its completion webhook is still due."""
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
    return payment


def _locked(payment_id: int) -> Payment:
    return locked(Payment.select().where(Payment.id == payment_id)).get()


def _reverse(payment: Payment, *, kind: str, stripe_id: str, amount_cents: int,
             credits: int, idempotency_key: str) -> Reversal:
    """Debit up to `credits` (never past what the payment credited) and record it."""
    credits = max(0, min(credits, payment.amount_credits - payment.reversed_credits))
    if payment.ledger_entry_id is None:  # nothing was credited, so nothing to take back
        credits = 0
    shortfall, entry_id = 0, None
    if credits > 0:
        movement = ledger.debit(payment.user_id, credits, kind="reversal",
                                idempotency_key=idempotency_key, reference=f"payment:{payment.id}",
                                memo=f"{kind} {stripe_id}", allow_partial=True)
        shortfall, entry_id = movement.shortfall_credits, movement.entry_id
    PaymentReversal.create(payment=payment, kind=kind, stripe_id=stripe_id,
                           amount_cents=amount_cents, reversed_credits=credits,
                           debited_credits=credits - shortfall, shortfall_credits=shortfall,
                           ledger_entry_id=entry_id)
    payment.reversed_credits += credits
    payment.shortfall_credits += shortfall
    if shortfall:
        PaymentFlag.insert(user=payment.user_id, payment=payment, kind=f"{kind}_shortfall",
                           reference=stripe_id, shortfall_credits=shortfall,
                           details=f"{kind} {stripe_id} needed {credits} credits; "
                                   f"{shortfall} were already spent").on_conflict_ignore().execute()
    log.info("payment_reversed", payment_id=payment.id, kind=kind, stripe_id=stripe_id,
             credits=credits, shortfall_credits=shortfall)
    if credits:
        db.after_commit(lambda: _after_reversal(payment.id, payment.user_id, kind=kind,
                                                credits=credits, shortfall=shortfall))
    return Reversal(payment.id, credits, shortfall)


def _after_reversal(payment_id: int, user_id: int, *, kind: str, credits: int,
                    shortfall: int) -> None:
    notifications.send_reversal_notice(payment_id, kind=kind, reversed_credits=credits,
                                       shortfall_credits=shortfall)
    notifications.check_low_balance(user_id)


def apply_refunds(charge: Mapping[str, Any]) -> Reversal | None:
    """Reverse every refund of `charge` not applied yet; None if the charge is not the hub's."""
    payment = payment_for_charge(charge["id"], charge.get("payment_intent"))
    if payment is None or payment.ledger_entry_id is None:
        return None
    refunds = [r for r in gateway.list_refunds(charge["id"])
               if r.get("status") in COUNTED_REFUND_STATUSES]
    reversed_credits = shortfall = 0
    with write_transaction():
        payment = _locked(payment.id)
        payment.stripe_charge_id = payment.stripe_charge_id or charge["id"]
        applied = {r.stripe_id for r in PaymentReversal.select(PaymentReversal.stripe_id)
                   .where(PaymentReversal.payment == payment)}
        refunded_cents = previous_target = 0
        for refund in refunds:
            refunded_cents += refund["amount"]
            target = credits_for(payment, refunded_cents)
            share, previous_target = target - previous_target, target
            if refund["id"] in applied:
                continue
            reversal = _reverse(payment, kind="refund", stripe_id=refund["id"],
                                amount_cents=refund["amount"], credits=share,
                                idempotency_key=refund_key(refund["id"]))
            reversed_credits += reversal.reversed_credits
            shortfall += reversal.shortfall_credits
        if payment.status != "disputed" and refunded_cents:
            payment.status = "refunded" if refunded_cents >= payment.amount_cents \
                else "partially_refunded"
        payment.updated_at = utcnow()
        payment.save()
    return Reversal(payment.id, reversed_credits, shortfall)


def apply_dispute(dispute: Mapping[str, Any]) -> Reversal | None:
    """Flag the payment and the account, and reverse the disputed credits (once per dispute)."""
    payment = payment_for_charge(dispute["charge"], dispute.get("payment_intent"))
    if payment is None:
        return None
    with write_transaction():
        payment = _locked(payment.id)
        if PaymentReversal.get_or_none(PaymentReversal.stripe_id == dispute["id"]) is not None:
            return Reversal(payment.id, 0, 0)
        payment.stripe_charge_id = payment.stripe_charge_id or dispute["charge"]
        payment.status, payment.disputed_at = "disputed", utcnow()
        PaymentFlag.insert(user=payment.user_id, payment=payment, kind="dispute",
                           reference=dispute["id"],
                           details=f"reason={dispute.get('reason') or 'unknown'} "
                                   f"amount={dispute.get('amount')} "
                                   f"{dispute.get('currency') or payment.currency}",
                           ).on_conflict_ignore().execute()
        reversal = _reverse(payment, kind="dispute", stripe_id=dispute["id"],
                            amount_cents=dispute.get("amount") or payment.amount_cents,
                            credits=credits_for(payment, dispute.get("amount")
                                                or payment.amount_cents),
                            idempotency_key=refund_key(dispute["charge"]))
        payment.updated_at = utcnow()
        payment.save()
    return reversal

"""Refunds and disputes: each Stripe refund or dispute moves a payment's credits once per state.

Every refund (`re_…`) and dispute (`du_…`) gets one `PaymentReversal` row, and each of its
transitions moves credits at most once, through the ledger, under a key naming the object and
the transition:

- **reverse** (`stripe:refund:<id>:reverse`, `stripe:dispute:<id>:reverse`): take back the
  credits the money bought (`credits × cents ÷ paid cents`, rounded down, never past what the
  payment still holds). If the user already spent them the ledger takes what is available (the
  balance never goes below zero); the rest is a shortfall, recorded on the row and the payment
  and flagged for the back office.
- **restore** (`stripe:refund:<id>:restore`, `stripe:dispute:<id>:reinstate`): the refund
  failed or was cancelled, or the dispute was won. The shortfall is cleared first (it was never
  taken, so nothing is given for it) and exactly what the ledger took is credited back: never
  more, and never credits that were not taken.
- **void**: Stripe reported the refund failed or the dispute won before anything was taken:
  the row records it, so a late event about the same object moves nothing.

`restored` and `void` are final. These functions run in the caller's transaction with the
payment row locked (`locked_payment`) and never call Stripe; what Stripe must be asked is asked
before the transaction (`charges.resolve_payment`), so no lock is held while Stripe answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from app.extensions import db
from app.models.base import utcnow
from app.models.payments import Payment, PaymentFlag, PaymentReversal
from app.services import ledger
from app.services.payments import notifications
from app.services.payments.errors import WebhookPayloadInvalid
from app.transactions import locked

log = structlog.get_logger(__name__)

RESTORE_TRANSITION = {"refund": "restore", "dispute": "reinstate"}


@dataclass(frozen=True)
class Change:
    """What one event did to a payment's credits (zero everywhere: nothing moved)."""

    payment_id: int
    reversed_credits: int = 0  # taken back by this event, including any shortfall
    shortfall_credits: int = 0  # the part of it the user had already spent
    restored_credits: int = 0  # given back by this event

    def __add__(self, other: Change) -> Change:
        return Change(self.payment_id, self.reversed_credits + other.reversed_credits,
                      self.shortfall_credits + other.shortfall_credits,
                      self.restored_credits + other.restored_credits)

    def describe(self) -> str:
        return (f"reversed {self.reversed_credits} shortfall {self.shortfall_credits} "
                f"restored {self.restored_credits}")


def ledger_key(kind: str, stripe_id: str, transition: str) -> str:
    """`stripe:refund:re_1:reverse`, `stripe:dispute:du_1:reinstate`, …"""
    return f"stripe:{kind}:{stripe_id}:{transition}"


def credits_for(payment: Payment, cents: int) -> int:
    """The credits `cents` of this payment bought, rounded down."""
    if payment.amount_cents <= 0:
        return payment.amount_credits
    return payment.amount_credits * min(max(cents, 0), payment.amount_cents) // payment.amount_cents


def locked_payment(payment_id: int, charge_id: str) -> Payment:
    payment = locked(Payment.select().where(Payment.id == payment_id)).get()
    payment.stripe_charge_id = payment.stripe_charge_id or charge_id
    return payment


def find(payment: Payment, stripe_id: str) -> PaymentReversal | None:
    """The payment's row for this refund or dispute, if it has one yet."""
    row = PaymentReversal.get_or_none(PaymentReversal.stripe_id == stripe_id)
    if row is not None and row.payment_id != payment.id:  # Stripe never moves one to another charge
        raise WebhookPayloadInvalid(f"{stripe_id} belongs to another payment's charge")
    return row


def live_reversals(payment: Payment, kind: str) -> list[PaymentReversal]:
    """The payment's reversals of `kind` whose credits are still taken back."""
    return list(PaymentReversal.select().where((PaymentReversal.payment == payment.id)
                                               & (PaymentReversal.kind == kind)
                                               & (PaymentReversal.state == "reversed")))


def reverse(payment: Payment, *, kind: str, stripe_id: str, amount_cents: int, credits: int,
            stripe_status: str | None) -> Change:
    """Debit up to `credits` (never past what the payment still holds) and record it."""
    credits = max(0, min(credits, payment.amount_credits - payment.reversed_credits))
    shortfall, entry_id = 0, None
    if credits > 0:
        movement = ledger.debit(payment.user_id, credits, kind="reversal",
                                idempotency_key=ledger_key(kind, stripe_id, "reverse"),
                                reference=f"payment:{payment.id}", memo=f"{kind} {stripe_id}",
                                allow_partial=True)
        shortfall, entry_id = movement.shortfall_credits, movement.entry_id
    row = PaymentReversal.create(payment=payment, kind=kind, stripe_id=stripe_id,
                                 amount_cents=amount_cents, reversed_credits=credits,
                                 debited_credits=credits - shortfall, shortfall_credits=shortfall,
                                 ledger_entry_id=entry_id, state="reversed",
                                 stripe_status=stripe_status)
    payment.reversed_credits += credits
    payment.shortfall_credits += shortfall
    if shortfall:
        _flag_shortfall(payment, row)
    log.info("payment_reversed", payment_id=payment.id, kind=kind, stripe_id=stripe_id,
             credits=credits, shortfall_credits=shortfall)
    if credits:
        db.after_commit(lambda: _after_reversal(payment.id, payment.user_id, kind=kind,
                                                credits=credits, shortfall=shortfall))
    return Change(payment.id, reversed_credits=credits, shortfall_credits=shortfall)


def restore(payment: Payment, row: PaymentReversal, *, stripe_status: str | None) -> Change:
    """Undo a reversal: what the payment's other live reversals still need stays taken (see
    `_hand_over`); of the rest, the shortfall is cleared and exactly what the ledger took is
    credited back."""
    had_shortfall = row.shortfall_credits > 0
    _hand_over(payment, row)
    given, entry_id = row.debited_credits, None
    if given > 0:
        movement = ledger.credit(
            payment.user_id, given, kind="reversal",
            idempotency_key=ledger_key(row.kind, row.stripe_id, RESTORE_TRANSITION[row.kind]),
            reference=f"payment:{payment.id}",
            memo=f"{row.kind} {row.stripe_id} {stripe_status or 'ended'}: credits given back")
        entry_id = movement.entry_id
    payment.reversed_credits -= row.reversed_credits
    payment.shortfall_credits -= row.shortfall_credits
    row.state, row.stripe_status, row.restored_at = "restored", stripe_status, utcnow()
    row.restored_credits, row.restore_entry_id = given, entry_id
    row.save()
    if had_shortfall:
        _clear_shortfall_flag(row, stripe_status)
    log.info("payment_reversal_restored", payment_id=payment.id, kind=row.kind,
             stripe_id=row.stripe_id, status=stripe_status, credits=given,
             cleared_shortfall_credits=row.shortfall_credits)
    if given:
        db.after_commit(lambda: notifications.check_low_balance(payment.user_id))
    return Change(payment.id, restored_credits=given)


def _hand_over(payment: Payment, row: PaymentReversal) -> None:
    """Pass to the payment's other live reversals what they were cut short of.

    A reversal never takes past what the payment credited, so one that arrives while another
    holds the credits (a refund issued during an inquiry, say) takes less than its due. When
    the earlier one ends, that part stays taken and moves to the later one, taken credits
    first, then shortfall: the user ends up exactly where the later reversal alone would have
    left them. The rows' numbers follow, so the payment's totals stay the sums of its live rows.
    """
    for other, due in _cut_short(payment, leaving=row):
        moved = min(due, row.reversed_credits)
        if moved <= 0:
            return
        debited = min(moved, row.debited_credits)
        for target, sign in ((row, -1), (other, 1)):
            target.reversed_credits += sign * moved
            target.debited_credits += sign * debited
            target.shortfall_credits += sign * (moved - debited)
        other.save()
        if other.shortfall_credits:
            _flag_shortfall(payment, other)
        log.info("payment_reversal_handed_over", payment_id=payment.id, stripe_id=row.stripe_id,
                 to_stripe_id=other.stripe_id, credits=moved, shortfall_credits=moved - debited)


def _cut_short(payment: Payment, *, leaving: PaymentReversal) -> list[tuple[PaymentReversal, int]]:
    """(reversal, credits it is short of its due) for the live reversals other than `leaving`:
    the refunds together (the newest one receives), and each dispute."""
    refunds = [r for r in live_reversals(payment, "refund") if r.id != leaving.id]
    disputes = [r for r in live_reversals(payment, "dispute") if r.id != leaving.id]
    short = [(d, credits_for(payment, d.amount_cents) - d.reversed_credits) for d in disputes]
    if refunds:
        due = credits_for(payment, sum(r.amount_cents for r in refunds)) \
            - sum(r.reversed_credits for r in refunds)
        short.insert(0, (max(refunds, key=lambda r: r.id), due))
    return [(r, due) for r, due in short if due > 0]


def void(payment: Payment, *, kind: str, stripe_id: str, amount_cents: int,
         stripe_status: str | None) -> Change:
    """Record a refund or dispute that ended in the merchant's favour before anything was taken."""
    PaymentReversal.create(payment=payment, kind=kind, stripe_id=stripe_id,
                           amount_cents=amount_cents, reversed_credits=0, debited_credits=0,
                           state="void", stripe_status=stripe_status)
    log.info("payment_reversal_void", payment_id=payment.id, kind=kind, stripe_id=stripe_id,
             status=stripe_status)
    return Change(payment.id)


def note_status(row: PaymentReversal, stripe_status: str | None) -> Change:
    """A status that moves no credits (pending → succeeded, needs_response → lost, …)."""
    if row.state == "reversed" and stripe_status and stripe_status != row.stripe_status:
        row.stripe_status = stripe_status
        row.save()
    return Change(row.payment_id)


def save_payment(payment: Payment) -> None:
    """Write the payment with the status its live reversals give it: `disputed` while a
    dispute holds credits back, else `refunded` / `partially_refunded` by the money the live
    refunds return, else `paid`."""
    disputes = live_reversals(payment, "dispute")
    refunded_cents = sum(r.amount_cents for r in live_reversals(payment, "refund"))
    if disputes:
        payment.status = "disputed"
    elif refunded_cents:
        payment.status = "refunded" if refunded_cents >= payment.amount_cents \
            else "partially_refunded"
    else:
        payment.status = "paid"
    if disputes and payment.disputed_at is None:
        payment.disputed_at = utcnow()
    payment.updated_at = utcnow()
    payment.save()


def _flag_shortfall(payment: Payment, row: PaymentReversal) -> None:
    """The back office's flag for a reversal the user had already spent (opened again, with the
    current amount, if the reversal took over another's shortfall)."""
    details = (f"{row.kind} {row.stripe_id} needed {row.reversed_credits} credits; "
               f"{row.shortfall_credits} were already spent")
    flag = PaymentFlag.get_or_none((PaymentFlag.kind == f"{row.kind}_shortfall")
                                   & (PaymentFlag.reference == row.stripe_id))
    if flag is None:
        PaymentFlag.create(user=payment.user_id, payment=payment, kind=f"{row.kind}_shortfall",
                           reference=row.stripe_id, shortfall_credits=row.shortfall_credits,
                           details=details)
        return
    flag.shortfall_credits, flag.details, flag.resolved_at = row.shortfall_credits, details, None
    flag.save()


def _clear_shortfall_flag(row: PaymentReversal, stripe_status: str | None) -> None:
    """The reversal ended: its shortfall is no longer owed (or moved to another reversal, whose
    own flag says so), so its flag is resolved."""
    flag = PaymentFlag.get_or_none((PaymentFlag.kind == f"{row.kind}_shortfall")
                                   & (PaymentFlag.reference == row.stripe_id))
    if flag is None or flag.resolved_at is not None:
        return
    flag.resolved_at = utcnow()
    flag.details += f"; cleared: the {row.kind} ended ({stripe_status or 'unknown'})"
    flag.save()


def _after_reversal(payment_id: int, user_id: int, *, kind: str, credits: int,
                    shortfall: int) -> None:
    notifications.send_reversal_notice(payment_id, kind=kind, reversed_credits=credits,
                                       shortfall_credits=shortfall)
    notifications.check_low_balance(user_id)

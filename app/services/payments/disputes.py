"""Disputes: `charge.dispute.created`, `.updated`, `.closed`, `.funds_withdrawn` and
`.funds_reinstated`, each carrying the dispute as it stood when the event was sent.

A dispute takes back the disputed amount's credits as soon as the hub hears of it, whatever its
status (an inquiry too: the money may still go), and flags the payment and the account. Once
Stripe says the merchant kept the money — status `won` or `warning_closed` (an inquiry closed
without a chargeback), or the `charge.dispute.funds_reinstated` event — what the reversal took
is given back (its shortfall cleared first). `lost` and `prevented` keep the credits taken
back; nothing more moves. A dispute won before the hub reversed anything is recorded as void,
so its late `created` event takes nothing. Each dispute is keyed by its own id, so two
disputes on one charge are two reversals (together never more than the payment credited).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.models.payments import Payment, PaymentFlag
from app.services.payments.charges import checked, object_id, resolve_payment
from app.services.payments.reversals import (
    Change,
    credits_for,
    find,
    locked_payment,
    note_status,
    restore,
    reverse,
    save_payment,
    void,
)
from app.transactions import write_transaction

KEPT = frozenset({"won", "warning_closed"})  # the merchant keeps the money: the credits return


@dataclass(frozen=True)
class DisputeSeen:
    payment_id: int
    charge_id: str
    dispute: Mapping[str, Any]
    funds_reinstated: bool  # the event says Stripe gave the disputed money back


def seen_dispute(dispute: Mapping[str, Any], *, funds_reinstated: bool = False) -> DisputeSeen | None:
    """The dispute and its hub payment (None if the charge is not a hub payment's). May ask
    Stripe which payment it is: call it outside any transaction."""
    charge_id = object_id(checked(dispute, "dispute").get("charge"))
    if charge_id is None:
        return None
    payment_id = resolve_payment(charge_id, object_id(dispute.get("payment_intent")))
    if payment_id is None:
        return None
    return DisputeSeen(payment_id, charge_id, dispute, funds_reinstated)


def apply(seen: DisputeSeen) -> Change:
    """Move the dispute's credits to match its status, once per transition (no Stripe call)."""
    with write_transaction():
        payment = locked_payment(seen.payment_id, seen.charge_id)
        change = _apply(payment, seen)
        save_payment(payment)
    return change


def _apply(payment: Payment, seen: DisputeSeen) -> Change:
    dispute, status = seen.dispute, seen.dispute.get("status")
    kept = seen.funds_reinstated or status in KEPT
    amount_cents = min(dispute.get("amount") or payment.amount_cents, payment.amount_cents)
    row = find(payment, dispute["id"])
    if row is None and kept:
        return void(payment, kind="dispute", stripe_id=dispute["id"], amount_cents=amount_cents,
                    stripe_status=status)
    if row is None:
        _flag(payment, dispute)
        return reverse(payment, kind="dispute", stripe_id=dispute["id"],
                       amount_cents=amount_cents, credits=credits_for(payment, amount_cents),
                       stripe_status=status)
    if row.state == "reversed" and kept:
        return restore(payment, row, stripe_status=status)
    return note_status(row, status)


def _flag(payment: Payment, dispute: Mapping[str, Any]) -> None:
    PaymentFlag.insert(user=payment.user_id, payment=payment, kind="dispute",
                       reference=dispute["id"],
                       details=f"reason={dispute.get('reason') or 'unknown'} "
                               f"amount={dispute.get('amount')} "
                               f"{dispute.get('currency') or payment.currency}",
                       ).on_conflict_ignore().execute()

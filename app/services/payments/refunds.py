"""Refunds: `charge.refunded` (a charge; its refunds are listed from Stripe) and each refund's own
events (`charge.refund.updated`, `refund.created`, `refund.updated`, `refund.failed`).

A refund that is `pending`, `requires_action` or `succeeded` is reversed as soon as the hub
hears of it; one that is `failed` or `canceled` gives back what its reversal took, or, if
nothing was taken yet, is recorded as void so that nothing ever is. Pending refunds are
reversed at once because the money is already on its way back to the buyer: waiting for
`succeeded` (days, for some payment methods) would leave the credits spendable meanwhile and
turn an ordinary refund into a shortfall, while a refund that fails or is cancelled costs the
user nothing, since exactly what was taken comes back.

Shares: the live refunds of a charge (those not failed or cancelled) together take back
`credits_for(their total cents)`; a new refund takes the difference from what the live ones
already took, so partial refunds add up exactly to a full one in whatever order they arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.models.payments import Payment
from app.services.payments import gateway
from app.services.payments.charges import checked, object_id, resolve_payment
from app.services.payments.reversals import (
    Change,
    credits_for,
    find,
    live_reversals,
    locked_payment,
    note_status,
    restore,
    reverse,
    save_payment,
    void,
)
from app.transactions import write_transaction

ENDED = frozenset({"failed", "canceled"})  # the money did not go back: the credits return


@dataclass(frozen=True)
class RefundsSeen:
    """What Stripe says of a charge's refunds, gathered before the event's transaction."""

    payment_id: int
    charge_id: str
    refunds: tuple[Mapping[str, Any], ...]


def seen_on_charge(charge: Mapping[str, Any]) -> RefundsSeen | None:
    """For `charge.refunded`: every refund of the charge as Stripe lists it now (None if the
    charge is not a hub payment's). Asks Stripe: call it outside any transaction."""
    payment_id = resolve_payment(charge["id"], object_id(charge.get("payment_intent")))
    if payment_id is None:
        return None
    refunds = tuple(checked(r, "refund") for r in gateway.list_refunds(charge["id"]))
    return RefundsSeen(payment_id, charge["id"], refunds)


def seen_alone(refund: Mapping[str, Any]) -> RefundsSeen | None:
    """For a refund's own event: that refund, as the event carries it."""
    charge_id = object_id(checked(refund, "refund").get("charge"))
    if charge_id is None:
        return None  # a refund without a charge is not a Checkout payment's
    payment_id = resolve_payment(charge_id, object_id(refund.get("payment_intent")))
    if payment_id is None:
        return None
    return RefundsSeen(payment_id, charge_id, (refund,))


def apply(seen: RefundsSeen) -> Change:
    """Move each refund's credits to match its status, once per transition (no Stripe call)."""
    with write_transaction():
        payment = locked_payment(seen.payment_id, seen.charge_id)
        change = Change(payment.id)
        for refund in seen.refunds:
            change += _apply_one(payment, refund)
        save_payment(payment)
    return change


def _apply_one(payment: Payment, refund: Mapping[str, Any]) -> Change:
    status, amount_cents = refund.get("status"), min(refund.get("amount") or 0,
                                                     payment.amount_cents)
    row = find(payment, refund["id"])
    if row is None and status in ENDED:
        return void(payment, kind="refund", stripe_id=refund["id"], amount_cents=amount_cents,
                    stripe_status=status)
    if row is None:
        return reverse(payment, kind="refund", stripe_id=refund["id"], amount_cents=amount_cents,
                       credits=_share(payment, amount_cents), stripe_status=status)
    if row.state == "reversed" and status in ENDED:
        return restore(payment, row, stripe_status=status)
    return note_status(row, status)  # a final row, or a status that moves nothing


def _share(payment: Payment, amount_cents: int) -> int:
    live = live_reversals(payment, "refund")
    total_cents = sum(r.amount_cents for r in live) + amount_cents
    return max(0, credits_for(payment, total_cents) - sum(r.reversed_credits for r in live))

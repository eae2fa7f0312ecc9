"""Admin adjustments: a signed amount with a reason, journalled and audited together.

The admin API (`POST /api/admin/users/<id>/credits`), the back office and the operator CLI
(`flask credits adjust`) all call `adjust_credits`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import structlog

from app.models.users import User
from app.services import audit
from app.services.ledger.errors import AccountNotFound, InvalidMovement
from app.services.ledger.movements import credit, debit
from app.services.ledger.results import Balance, Movement
from app.transactions import write_transaction

log = structlog.get_logger(__name__)

ACTION = "credits.adjust"


@dataclass(frozen=True)
class Adjustment:
    movement: Movement
    before: Balance
    after: Balance


def adjust_credits(user_id: int, amount_credits: int, *, reason: str, idempotency_key: str,
                   actor_id: int | None, actor_label: str) -> Adjustment:
    """Add (positive) or remove (negative) credits; a removal never goes below zero (402).

    The audit entry (actor, target, before, after, reason) commits with the ledger entry or
    not at all; a replay of the same key returns the first result and audits nothing more.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidMovement("a reason is required")
    if amount_credits == 0:
        raise InvalidMovement("the amount must not be zero")
    if User.get_or_none(User.id == user_id) is None:
        raise AccountNotFound(f"no user with id {user_id}")
    key = f"admin:{idempotency_key}"
    options = {"kind": "admin_adjustment", "idempotency_key": key, "actor_id": actor_id,
               "memo": reason[:500], "reference": f"admin:{actor_label}"[:200]}
    with write_transaction():
        movement = credit(user_id, amount_credits, **options) if amount_credits > 0 \
            else debit(user_id, -amount_credits, **options)
        before = Balance.of(movement.balance - movement.amount_credits, movement.held)
        after = Balance.of(movement.balance, movement.held)
        if not movement.replayed:
            audit.record(actor_id=actor_id, actor_label=actor_label, action=ACTION,
                         target_type="user", target_id=user_id, before=asdict(before),
                         after=asdict(after), reason=reason)
    log.info("credits_adjusted", user_id=user_id, amount_credits=amount_credits,
             actor=actor_label, replayed=movement.replayed, entry_id=movement.entry_id)
    return Adjustment(movement=movement, before=before, after=after)

"""Holds on PostgreSQL: placing and settling are the functions `ledger_hold` and
`ledger_settle` (migration 007), one round trip each."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta

import structlog

from app.extensions import db
from app.models.base import utcnow
from app.services.ledger.accounts import invalidate_after_commit
from app.services.ledger.cache import CommandWriter
from app.services.ledger.errors import HoldNotFound, IdempotencyKeyReused
from app.services.ledger.holds.base import HoldStore, replay
from app.services.ledger.movements import insufficient
from app.services.ledger.results import HoldResult, Movement

log = structlog.get_logger(__name__)

_HOLD = ("SELECT o_status, o_hold_id, o_account_id, o_amount, o_hold_status, o_available "
         "FROM ledger_hold(%s, %s, %s, %s, %s, %s, %s)")
_SETTLE = ("SELECT o_status, o_entry_id, o_user_id, o_amount, o_balance, o_held, "
           "o_shortfall FROM ledger_settle(%s, %s, %s, %s)")


class PostgresHoldStore(HoldStore):
    def place_hold(self, user_id: int, amount_credits: int, *, idempotency_key: str,
                   purpose: str, reference: str, expires_in_s: int,
                   within: Callable[[], None] | None,
                   writer: CommandWriter | None) -> HoldResult:
        """`ledger_hold`: one statement; with `within`, one transaction in which the account
        row stays locked (account first, then whatever `within` locks, the same order as a
        settle)."""
        now = utcnow()
        args = (user_id, amount_credits, idempotency_key, purpose[:64], reference[:200], now,
                now + timedelta(seconds=expires_in_s))
        # a transaction of its own only if `within` needs one and the caller has none open
        needs_own = within is not None and not db.in_transaction()
        with db.atomic() if needs_own else contextlib.nullcontext():
            status, hold_id, account_id, amount, hold_status, available = db.execute_sql(
                _HOLD, args).fetchone()
            if status == "insufficient":
                raise insufficient(available, amount_credits)
            if status == "replayed":
                return replay(idempotency_key, hold_id, account_id, amount, hold_status,
                              user_id, amount_credits)
            if within is not None:
                within()
        invalidate_after_commit(user_id, writer)
        log.info("hold_placed", user_id=user_id, hold_id=hold_id, amount_credits=amount_credits,
                 purpose=purpose, reference=reference)
        return HoldResult(hold_id=hold_id, user_id=user_id, amount_credits=amount_credits,
                          status="active", replayed=False)

    def settle_hold(self, hold_id: int, actual_credits: int, memo: str,
                    writer: CommandWriter | None) -> Movement:
        """`ledger_settle`: the whole settle as one statement."""
        status, entry_id, user_id, amount, balance, held, shortfall = db.execute_sql(
            _SETTLE, (hold_id, actual_credits, memo[:500], utcnow())).fetchone()
        if status == "no_hold":
            raise HoldNotFound(f"no hold with id {hold_id}")
        if status == "key_taken":
            raise IdempotencyKeyReused(f"the key hold:{hold_id}:settle is taken")
        movement = Movement(entry_id=entry_id, user_id=user_id, amount_credits=amount,
                            balance=balance, held=held, available=balance - held,
                            replayed=status == "replayed", shortfall_credits=shortfall)
        if not movement.replayed:
            invalidate_after_commit(user_id, writer)
            log.info("hold_settled", hold_id=hold_id, user_id=user_id,
                     charged_credits=-amount, shortfall_credits=shortfall)
        return movement

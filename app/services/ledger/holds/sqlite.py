"""Holds on SQLite: the steps of `ledger_hold` and `ledger_settle` as statements inside
`BEGIN IMMEDIATE`, the account row read (and, on PostgreSQL, locked) first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import structlog

from app.models.base import utcnow
from app.models.ledger import CreditAccount, CreditHold
from app.services.ledger.cache import CommandWriter
from app.services.ledger.errors import IdempotencyKeyReused
from app.services.ledger.holds.base import HoldStore, hold_replay, locked_hold, set_held
from app.services.ledger.locking import lock_account
from app.services.ledger.movements import KeyTaken, insufficient, movement_of, record
from app.services.ledger.results import HoldResult, Movement
from app.transactions import write_transaction

log = structlog.get_logger(__name__)


class SqliteHoldStore(HoldStore):
    def place_hold(self, user_id: int, amount_credits: int, *, idempotency_key: str,
                   purpose: str, reference: str, expires_in_s: int,
                   within: Callable[[], None] | None,
                   writer: CommandWriter | None) -> HoldResult:
        try:
            with write_transaction():
                account = lock_account(user_id)
                existing = CreditHold.get_or_none(CreditHold.idempotency_key == idempotency_key)
                if existing is not None:
                    return hold_replay(existing, user_id, amount_credits)
                available = account.balance - account.held if account else 0
                if amount_credits > available:
                    raise insufficient(available, amount_credits)
                if within is not None:
                    within()
                return _insert_hold(account, amount_credits, idempotency_key=idempotency_key,
                                    purpose=purpose, reference=reference,
                                    expires_in_s=expires_in_s, writer=writer)
        except KeyTaken:  # taken by a concurrent hold on another account, committed meanwhile
            existing = CreditHold.get(CreditHold.idempotency_key == idempotency_key)
            return hold_replay(existing, user_id, amount_credits)

    def settle_hold(self, hold_id: int, actual_credits: int, memo: str,
                    writer: CommandWriter | None) -> Movement:
        with write_transaction():
            account, hold = locked_hold(hold_id)
            if hold.status == "settled":
                return movement_of(hold.settle_entry, replayed=True)
            reserved = hold.amount_credits if hold.status == "active" else 0
            available = account.balance - (account.held - reserved)
            taken = min(actual_credits, available)
            try:
                movement = record(account, -taken, held_delta=-reserved, kind="usage",
                                  idempotency_key=f"hold:{hold.id}:settle",
                                  reference=hold.reference, memo=memo or hold.purpose,
                                  shortfall=actual_credits - taken, writer=writer)
            except KeyTaken:
                raise IdempotencyKeyReused(f"the key hold:{hold.id}:settle is taken") from None
            (CreditHold.update(status="settled", finished_at=utcnow(),
                               settle_entry=movement.entry_id)
             .where(CreditHold.id == hold.id).execute())
        log.info("hold_settled", hold_id=hold_id, user_id=movement.user_id,
                 hold_credits=hold.amount_credits, charged_credits=-movement.amount_credits,
                 shortfall_credits=movement.shortfall_credits)
        return movement


def _insert_hold(account: CreditAccount, amount_credits: int, *, idempotency_key: str,
                 purpose: str, reference: str, expires_in_s: int,
                 writer: CommandWriter | None) -> HoldResult:
    now = utcnow()
    inserted = list(
        CreditHold.insert(account=account.user_id, amount_credits=amount_credits,
                          status="active", purpose=purpose[:64], reference=reference[:200],
                          idempotency_key=idempotency_key, created_at=now,
                          expires_at=now + timedelta(seconds=expires_in_s))
        .on_conflict(conflict_target=[CreditHold.idempotency_key], action="NOTHING")
        .returning(CreditHold.id).execute())
    if not inserted:
        raise KeyTaken(idempotency_key)
    set_held(account, account.held + amount_credits, writer)
    log.info("hold_placed", user_id=account.user_id, hold_id=inserted[0].id,
             amount_credits=amount_credits, purpose=purpose, reference=reference)
    return HoldResult(hold_id=inserted[0].id, user_id=account.user_id,
                      amount_credits=amount_credits, status="active", replayed=False)

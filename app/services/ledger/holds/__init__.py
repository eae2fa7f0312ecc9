"""Holds: credits reserved for work in progress, then settled for the real cost or released.

Placing and settling a hold sit on every job's path: they are the `base.HoldStore` steps,
implemented side by side for each database: `postgres.PostgresHoldStore` calls the functions
`ledger_hold` and `ledger_settle` (migration 007), one round trip each;
`sqlite.SqliteHoldStore` runs the same steps as statements inside `BEGIN IMMEDIATE`. Releases
(off the hot path) are the same statements on both.

A hold raises the account's `held`, so `available = balance − held` shrinks while `balance`
stays; settling charges the real cost as one `usage` entry and drops the hold. Every change
locks the account row first, so holds, settles and releases of one account are serialised
with its debits.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from peewee import ModelSelect, fn

from app.database import Twins
from app.models.base import utcnow
from app.models.jobs import ACTIVE_STATUSES, Job
from app.models.ledger import CreditHold
from app.services.ledger.cache import CommandWriter
from app.services.ledger.errors import HoldAlreadySettled, InvalidMovement
from app.services.ledger.holds.base import HoldStore, locked_hold, set_held
from app.services.ledger.holds.postgres import PostgresHoldStore
from app.services.ledger.holds.sqlite import SqliteHoldStore
from app.services.ledger.movements import validate
from app.services.ledger.results import HoldResult, Movement
from app.transactions import write_transaction

log = structlog.get_logger(__name__)

EXPIRY_BATCH_SIZE = 500

_STORES: Twins[HoldStore] = Twins(postgres=PostgresHoldStore(), sqlite=SqliteHoldStore())


def place_hold(user_id: int, amount_credits: int, *, idempotency_key: str, purpose: str,
               reference: str = "", expires_in_s: int = 3600,
               within: Callable[[], None] | None = None,
               writer: CommandWriter | None = None) -> HoldResult:
    """Reserve `amount_credits` of the available credits until settled, released or expired.

    `within` runs inside the transaction once the account row is locked and the hold is
    decided, before commit (e.g. to enforce an API key's credit cap atomically with the hold);
    if it raises, nothing is held and the exception propagates. A replay returns the existing hold without calling it.
    `writer`: what the balance cache's bump goes through (None: at once, after commit).
    """
    validate(amount_credits, idempotency_key=idempotency_key)
    if expires_in_s <= 0:
        raise InvalidMovement("expires_in_s must be positive")
    return _STORES.current().place_hold(
        user_id, amount_credits, idempotency_key=idempotency_key, purpose=purpose,
        reference=reference, expires_in_s=expires_in_s, within=within, writer=writer)


def settle_hold(hold_id: int, actual_credits: int, *, memo: str = "",
                writer: CommandWriter | None = None) -> Movement:
    """Charge `actual_credits` as one `usage` entry and release the rest of the hold.

    Exactly once per hold: a second call returns the first result with replayed=True. Beyond
    the hold, the excess is taken from the available balance as far as it goes, never below
    zero, and the rest is reported as `shortfall_credits`. A hold that expired (released) can
    still be settled: the whole charge then comes from the available balance. `writer`: what
    the balance cache's bump goes through (None: at once, after commit).
    """
    if isinstance(actual_credits, bool) or not isinstance(actual_credits, int) \
            or actual_credits < 0:
        raise InvalidMovement("actual_credits must be a non-negative integer")
    return _STORES.current().settle_hold(hold_id, actual_credits, memo, writer)


def release_hold(hold_id: int) -> HoldResult:
    """Release the whole hold; idempotent. A settled hold cannot be released."""
    with write_transaction():
        account, hold = locked_hold(hold_id)
        result = HoldResult(hold_id=hold.id, user_id=hold.account_id,
                            amount_credits=hold.amount_credits, status="released",
                            replayed=hold.status == "released")
        if hold.status == "settled":
            raise HoldAlreadySettled(f"hold {hold_id} was settled; it cannot be released")
        if hold.status == "released":
            return result
        set_held(account, account.held - hold.amount_credits)
        (CreditHold.update(status="released", finished_at=utcnow())
         .where(CreditHold.id == hold.id).execute())
    log.info("hold_released", hold_id=hold_id, user_id=hold.account_id,
             amount_credits=hold.amount_credits)
    return result


def release_expired_holds() -> int:
    """Release every active hold past its expiry (so credits reserved for work that is gone
    cannot stay locked forever); return how many were released. Each release is its own
    transaction.

    A hold that a queued or running job owns is left alone whatever its expiry: it lives as
    long as the job, which settles it when it ends (the job reaper ends jobs whose run died).
    Released under a job that still runs, its credits could be spent before the job's settle.
    """
    released = 0
    while True:
        ids = [hold_id for (hold_id,) in
               CreditHold.select(CreditHold.id)
               .where((CreditHold.status == "active") & (CreditHold.expires_at <= utcnow()) &
                      ~fn.EXISTS(_active_job_of_hold()))
               .order_by(CreditHold.expires_at).limit(EXPIRY_BATCH_SIZE).tuples()]
        for hold_id in ids:
            try:
                result = release_hold(hold_id)
            except HoldAlreadySettled:  # settled between the query and the release: fine
                continue
            if not result.replayed:
                released += 1
        if len(ids) < EXPIRY_BATCH_SIZE:
            return released


def _active_job_of_hold() -> ModelSelect:
    """The queued or running job that owns the hold of the outer query (a job's hold has the
    job's id as its reference: found by the jobs' primary key)."""
    return Job.select(Job.id).where((Job.id == CreditHold.reference) &
                                    (Job.hold_id == CreditHold.id) &
                                    Job.status.in_(ACTIVE_STATUSES))

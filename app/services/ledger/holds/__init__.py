"""Holds: credits reserved for work in progress, then settled for the real cost or released.

On PostgreSQL, placing and settling a hold are the functions `ledger_hold` and `ledger_settle`
(migration 007), one round trip each: they sit on every job's path. SQLite runs the same steps
below as statements inside `BEGIN IMMEDIATE`.

A hold raises the account's `held`, so `available = balance − held` shrinks while `balance`
stays; settling charges the real cost as one `usage` entry and drops the hold. Every change
locks the account row first, so holds, settles and releases of one account are serialised
with its debits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta

import structlog
from peewee import ModelSelect, fn

from app.database import is_postgres
from app.extensions import db
from app.models.base import utcnow
from app.models.jobs import ACTIVE_STATUSES, Job
from app.models.ledger import CreditAccount, CreditHold
from app.services.ledger.accounts import invalidate_after_commit
from app.services.ledger.errors import (
    HoldAlreadySettled,
    HoldNotFound,
    IdempotencyKeyReused,
    InvalidMovement,
)
from app.services.ledger.locking import ledger_transaction, lock_account
from app.services.ledger.movements import (
    KeyTaken,
    insufficient,
    movement_of,
    record,
    validate,
)
from app.services.ledger.results import HoldResult, Movement

log = structlog.get_logger(__name__)

EXPIRY_BATCH_SIZE = 500


def place_hold(user_id: int, amount_credits: int, *, idempotency_key: str, purpose: str,
               reference: str = "", expires_in_s: int = 3600,
               within: Callable[[], None] | None = None) -> HoldResult:
    """Reserve `amount_credits` of the available credits until settled, released or expired.

    `within` runs inside the transaction once the account row is locked and the hold is
    decided, before commit (e.g. to enforce an API key's credit cap atomically with the hold);
    if it raises, nothing is held and the exception propagates. A replay returns the existing hold without calling it.
    """
    validate(amount_credits, idempotency_key=idempotency_key)
    if expires_in_s <= 0:
        raise InvalidMovement("expires_in_s must be positive")
    if is_postgres():
        return _place_hold_postgres(user_id, amount_credits, idempotency_key=idempotency_key,
                                    purpose=purpose, reference=reference,
                                    expires_in_s=expires_in_s, within=within)
    try:
        with ledger_transaction():
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
                                purpose=purpose, reference=reference, expires_in_s=expires_in_s)
    except KeyTaken:  # taken by a concurrent hold on another account, committed meanwhile
        existing = CreditHold.get(CreditHold.idempotency_key == idempotency_key)
        return hold_replay(existing, user_id, amount_credits)


_POSTGRES_HOLD = ("SELECT o_status, o_hold_id, o_account_id, o_amount, o_hold_status, o_available "
                  "FROM ledger_hold(%s, %s, %s, %s, %s, %s, %s)")
_POSTGRES_SETTLE = ("SELECT o_status, o_entry_id, o_user_id, o_amount, o_balance, o_held, "
                    "o_shortfall FROM ledger_settle(%s, %s, %s, %s)")


def _place_hold_postgres(user_id: int, amount_credits: int, *, idempotency_key: str,
                         purpose: str, reference: str, expires_in_s: int,
                         within: Callable[[], None] | None) -> HoldResult:
    """`ledger_hold` (migration 007): one statement; with `within`, one transaction in which
    the account row stays locked (account first, then whatever `within` locks, the same order
    as a settle)."""
    now = utcnow()
    args = (user_id, amount_credits, idempotency_key, purpose[:64], reference[:200], now,
            now + timedelta(seconds=expires_in_s))
    # a transaction of its own only if `within` needs one and the caller has none open
    needs_own = within is not None and not db.in_transaction()
    with db.atomic() if needs_own else contextlib.nullcontext():
        status, hold_id, account_id, amount, hold_status, available = db.execute_sql(
            _POSTGRES_HOLD, args).fetchone()
        if status == "insufficient":
            raise insufficient(available, amount_credits)
        if status == "replayed":
            return _replay(idempotency_key, hold_id, account_id, amount, hold_status,
                           user_id, amount_credits)
        if within is not None:
            within()
    invalidate_after_commit(user_id)
    log.info("hold_placed", user_id=user_id, hold_id=hold_id, amount_credits=amount_credits,
             purpose=purpose, reference=reference)
    return HoldResult(hold_id=hold_id, user_id=user_id, amount_credits=amount_credits,
                      status="active", replayed=False)


def _replay(key: str, hold_id: int, account_id: int, amount: int, status: str, user_id: int,
            amount_credits: int) -> HoldResult:
    if (account_id, amount) != (user_id, amount_credits):
        raise IdempotencyKeyReused(f"idempotency key {key!r} was already used for another hold")
    return HoldResult(hold_id=hold_id, user_id=user_id, amount_credits=amount, status=status,
                      replayed=True)


def _settle_hold_postgres(hold_id: int, actual_credits: int, memo: str) -> Movement:
    """`ledger_settle` (migration 007): the whole settle as one statement."""
    status, entry_id, user_id, amount, balance, held, shortfall = db.execute_sql(
        _POSTGRES_SETTLE, (hold_id, actual_credits, memo[:500], utcnow())).fetchone()
    if status == "no_hold":
        raise HoldNotFound(f"no hold with id {hold_id}")
    if status == "key_taken":
        raise IdempotencyKeyReused(f"the key hold:{hold_id}:settle is taken")
    movement = Movement(entry_id=entry_id, user_id=user_id, amount_credits=amount,
                        balance=balance, held=held, available=balance - held,
                        replayed=status == "replayed", shortfall_credits=shortfall)
    if not movement.replayed:
        invalidate_after_commit(user_id)
        log.info("hold_settled", hold_id=hold_id, user_id=user_id,
                 charged_credits=-amount, shortfall_credits=shortfall)
    return movement


def _insert_hold(account: CreditAccount, amount_credits: int, *, idempotency_key: str, purpose: str,
                 reference: str, expires_in_s: int) -> HoldResult:
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
    _set_held(account, account.held + amount_credits)
    log.info("hold_placed", user_id=account.user_id, hold_id=inserted[0].id,
             amount_credits=amount_credits, purpose=purpose, reference=reference)
    return HoldResult(hold_id=inserted[0].id, user_id=account.user_id,
                      amount_credits=amount_credits, status="active", replayed=False)


def hold_replay(hold: CreditHold, user_id: int, amount_credits: int) -> HoldResult:
    return _replay(hold.idempotency_key, hold.id, hold.account_id, hold.amount_credits,
                   hold.status, user_id, amount_credits)


def _set_held(account: CreditAccount, held: int) -> None:
    stamp = max(utcnow(), account.updated_at)
    (CreditAccount.update(held=held, updated_at=stamp)
     .where(CreditAccount.user == account.user_id).execute())
    account.held, account.updated_at = held, stamp
    invalidate_after_commit(account.user_id)


def _locked_hold(hold_id: int) -> tuple[CreditAccount, CreditHold]:
    """Lock the hold's account, then read the hold: every change to a hold holds that lock."""
    account_id = (CreditHold.select(CreditHold.account).where(CreditHold.id == hold_id)
                  .scalar())
    if account_id is None:
        raise HoldNotFound(f"no hold with id {hold_id}")
    account = lock_account(account_id)
    return account, CreditHold.get_by_id(hold_id)


def settle_hold(hold_id: int, actual_credits: int, *, memo: str = "") -> Movement:
    """Charge `actual_credits` as one `usage` entry and release the rest of the hold.

    Exactly once per hold: a second call returns the first result with replayed=True. Beyond
    the hold, the excess is taken from the available balance as far as it goes, never below
    zero, and the rest is reported as `shortfall_credits`. A hold that expired (released) can
    still be settled: the whole charge then comes from the available balance.
    """
    if isinstance(actual_credits, bool) or not isinstance(actual_credits, int) \
            or actual_credits < 0:
        raise InvalidMovement("actual_credits must be a non-negative integer")
    if is_postgres():
        return _settle_hold_postgres(hold_id, actual_credits, memo)
    with ledger_transaction():
        account, hold = _locked_hold(hold_id)
        if hold.status == "settled":
            return movement_of(hold.settle_entry, replayed=True)
        reserved = hold.amount_credits if hold.status == "active" else 0
        available = account.balance - (account.held - reserved)
        taken = min(actual_credits, available)
        try:
            movement = record(account, -taken, held_delta=-reserved, kind="usage",
                              idempotency_key=f"hold:{hold.id}:settle", reference=hold.reference,
                              memo=memo or hold.purpose, shortfall=actual_credits - taken)
        except KeyTaken:
            raise IdempotencyKeyReused(f"the key hold:{hold.id}:settle is taken") from None
        (CreditHold.update(status="settled", finished_at=utcnow(), settle_entry=movement.entry_id)
         .where(CreditHold.id == hold.id).execute())
    log.info("hold_settled", hold_id=hold_id, user_id=movement.user_id,
             hold_credits=hold.amount_credits, charged_credits=-movement.amount_credits,
             shortfall_credits=movement.shortfall_credits)
    return movement


def release_hold(hold_id: int) -> HoldResult:
    """Release the whole hold; idempotent. A settled hold cannot be released."""
    with ledger_transaction():
        account, hold = _locked_hold(hold_id)
        result = HoldResult(hold_id=hold.id, user_id=hold.account_id,
                            amount_credits=hold.amount_credits, status="released",
                            replayed=hold.status == "released")
        if hold.status == "settled":
            raise HoldAlreadySettled(f"hold {hold_id} was settled; it cannot be released")
        if hold.status == "released":
            return result
        _set_held(account, account.held - hold.amount_credits)
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

"""Credits and debits: the only code (with holds) that changes a balance.

A movement locks the account row, journals one entry under its idempotency key and changes
the account, atomically, only if the available amount stays at or above zero (see
`statements.apply_movement`). A key that is already taken means a replay: nothing changes and
the first result is returned with `replayed=True`. Partial debits and settles, which decide
how much to take from what they read, lock the row first (`locking.lock_account`) and write
with `record`.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from app.models.base import utcnow
from app.models.ledger import KINDS, CreditAccount, LedgerEntry
from app.services.ledger.accounts import create_account, invalidate_after_commit, open_account
from app.services.ledger.cache import CommandWriter
from app.services.ledger.errors import IdempotencyKeyReused, InsufficientCredits, InvalidMovement
from app.services.ledger.locking import lock_account
from app.services.ledger.results import Movement
from app.services.ledger.statements import apply_movement, insert_entry, movement_transaction
from app.transactions import write_transaction

log = structlog.get_logger(__name__)

MAX_AMOUNT_CREDITS = 10**15  # US$10 billion: anything larger is a bug, not a purchase
MAX_KEY_LENGTH = 200


class KeyTaken(Exception):
    """Internal: the idempotency key was committed by an earlier movement; roll back, replay."""


@dataclass(frozen=True)
class MovementRequest:
    user_id: int
    signed_amount: int  # what was asked for: +amount for credits, -amount for debits
    kind: str
    idempotency_key: str


def validate(amount_credits: int, *, idempotency_key: str, kind: str = "usage") -> None:
    if isinstance(amount_credits, bool) or not isinstance(amount_credits, int):
        raise InvalidMovement("amount_credits must be an integer number of credits")
    if not 0 < amount_credits <= MAX_AMOUNT_CREDITS:
        raise InvalidMovement(f"amount_credits must be between 1 and {MAX_AMOUNT_CREDITS}")
    if kind not in KINDS:
        raise InvalidMovement(f"kind must be one of {', '.join(KINDS)}")
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
        raise InvalidMovement(f"idempotency_key must have 1 to {MAX_KEY_LENGTH} characters")


def credit(user_id: int, amount_credits: int, *, kind: str, idempotency_key: str,
           reference: str = "", actor_id: int | None = None, memo: str = "") -> Movement:
    """Add credits (a purchase, promo, refund, adjustment); the account is created if new."""
    validate(amount_credits, kind=kind, idempotency_key=idempotency_key)
    request = MovementRequest(user_id, amount_credits, kind, idempotency_key)
    with movement_transaction():
        outcome = apply_movement(user_id, amount_credits, kind=kind, key=idempotency_key,
                                 reference=reference, actor_id=actor_id, memo=memo)
        if outcome.status == "no_account":  # the user's first movement
            create_account(user_id)
            outcome = apply_movement(user_id, amount_credits, kind=kind, key=idempotency_key,
                                     reference=reference, actor_id=actor_id, memo=memo)
    if outcome.status == "key_taken":
        return replay(request)
    return _moved(request, outcome.entry_id, outcome.balance, outcome.held)


def debit(user_id: int, amount_credits: int, *, kind: str, idempotency_key: str,
          reference: str = "", actor_id: int | None = None, memo: str = "",
          allow_partial: bool = False) -> Movement:
    """Take credits from the available amount (balance − held), never below zero.

    allow_partial=False: `InsufficientCredits` if fewer than `amount_credits` are available.
    allow_partial=True (refund reversals): take what is available and report the rest as
    `shortfall_credits`; even a debit that took nothing is recorded, so its replay is too.
    """
    validate(amount_credits, kind=kind, idempotency_key=idempotency_key)
    request = MovementRequest(user_id, -amount_credits, kind, idempotency_key)
    if allow_partial:
        return _debit_what_is_available(request, reference=reference, actor_id=actor_id,
                                        memo=memo)
    with movement_transaction():
        outcome = apply_movement(user_id, -amount_credits, kind=kind, key=idempotency_key,
                                 reference=reference, actor_id=actor_id, memo=memo)
    if outcome.status == "applied":
        return _moved(request, outcome.entry_id, outcome.balance, outcome.held)
    previous = find_previous(request)  # a replay, possibly of a debit that emptied the account
    if previous is not None:
        return previous
    raise insufficient(outcome.balance - outcome.held, amount_credits)


def _debit_what_is_available(request: MovementRequest, *, reference: str,
                             actor_id: int | None, memo: str) -> Movement:
    try:
        with write_transaction():
            account = lock_account(request.user_id)
            available = account.balance - account.held if account else 0
            taken = min(-request.signed_amount, available)
            return record(account or open_account(request.user_id), -taken, kind=request.kind,
                          idempotency_key=request.idempotency_key, reference=reference,
                          actor_id=actor_id, memo=memo,
                          shortfall=-request.signed_amount - taken)
    except KeyTaken:
        return replay(request)


def insufficient(available: int, required: int) -> InsufficientCredits:
    return InsufficientCredits(
        f"not enough credits: {available} available, {required} needed",
        details={"available": available, "required_credits": required})


def record(account: CreditAccount, delta: int, *, kind: str, idempotency_key: str,
           reference: str = "", actor_id: int | None = None, memo: str = "",
           held_delta: int = 0, shortfall: int = 0,
           writer: CommandWriter | None = None) -> Movement:
    """Journal `delta` on the account locked by `lock_account` and apply it (with a change of
    `held`, for settles); raise KeyTaken if the key is used. `writer`: what the balance cache's
    bump goes through (`invalidate_after_commit`).

    The entry's time is max(now, the account's last change), so one account's entries are in
    the same order by time as by id (what keeps history cursors stable).
    """
    stamp = max(utcnow(), account.updated_at)
    balance, held = account.balance + delta, account.held + held_delta
    entry_id = insert_entry(account.user_id, delta, balance=balance, held=held, kind=kind,
                            key=idempotency_key, reference=reference, actor_id=actor_id,
                            memo=memo, shortfall=shortfall, stamp=stamp)
    if entry_id is None:
        raise KeyTaken(idempotency_key)
    (CreditAccount.update(balance=balance, held=held, updated_at=stamp)
     .where(CreditAccount.user == account.user_id).execute())
    account.balance, account.held, account.updated_at = balance, held, stamp
    request = MovementRequest(account.user_id, delta - shortfall, kind, idempotency_key)
    return _moved(request, entry_id, balance, held, shortfall=shortfall, writer=writer)


def _moved(request: MovementRequest, entry_id: int | None, balance: int, held: int, *,
           shortfall: int = 0, writer: CommandWriter | None = None) -> Movement:
    """The result of a movement just written; the cached balance goes once it commits."""
    invalidate_after_commit(request.user_id, writer)
    moved = request.signed_amount + shortfall
    log.info("ledger_movement", user_id=request.user_id, kind=request.kind,
             amount_credits=moved, balance=balance, held=held, entry_id=entry_id,
             key=request.idempotency_key)
    return Movement(entry_id=entry_id, user_id=request.user_id, amount_credits=moved,
                    balance=balance, held=held, available=balance - held, replayed=False,
                    shortfall_credits=shortfall)


def find_previous(request: MovementRequest) -> Movement | None:
    """The first result of this key, or None if unused; 409 if it was used for another movement."""
    entry = LedgerEntry.get_or_none(LedgerEntry.idempotency_key == request.idempotency_key)
    if entry is None:
        return None
    asked = entry.amount_credits - entry.shortfall_credits
    if (entry.account_id, entry.kind, asked) != (request.user_id, request.kind,
                                                  request.signed_amount):
        raise IdempotencyKeyReused(
            f"idempotency key {request.idempotency_key!r} was already used for another movement")
    return movement_of(entry, replayed=True)


def replay(request: MovementRequest) -> Movement:
    previous = find_previous(request)
    if previous is None:  # the conflicting insert committed, so its row must be visible now
        raise RuntimeError(f"idempotency key {request.idempotency_key!r} conflicted but is unused")
    return previous


def movement_of(entry: LedgerEntry, *, replayed: bool) -> Movement:
    return Movement(entry_id=entry.id, user_id=entry.account_id,
                    amount_credits=entry.amount_credits, balance=entry.balance_after,
                    held=entry.held_after, available=entry.balance_after - entry.held_after,
                    replayed=replayed, shortfall_credits=entry.shortfall_credits)

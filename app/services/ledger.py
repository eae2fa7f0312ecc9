"""TEMPORARY stand-in for the ledger service (replaced wholesale when the ledger merges).

Implements only the contract the payments area uses: balances, idempotent credit and debit,
each in one transaction with the account row locked (`FOR UPDATE` on PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.database import is_postgres
from app.errors import HubError
from app.extensions import db
from app.models.base import utcnow
from app.models.ledger import KINDS, CreditAccount, LedgerEntry


class InsufficientCredits(HubError):
    """Not enough available credits."""

    http_status = 402
    code = "insufficient_credits"


@dataclass(frozen=True)
class Balance:
    balance: int
    held: int
    available: int


@dataclass(frozen=True)
class Movement:
    entry_id: int | None
    user_id: int
    amount_credits: int  # signed amount actually moved
    balance: int
    held: int
    available: int
    replayed: bool
    shortfall_credits: int = 0


def get_balance(user_id: int) -> Balance:
    account = CreditAccount.get_or_none(CreditAccount.user == user_id)
    if account is None:
        return Balance(0, 0, 0)
    return Balance(account.balance, account.held, account.balance - account.held)


def _transaction():
    return db.atomic() if is_postgres() else db.atomic("IMMEDIATE")


def _locked_account(user_id: int) -> CreditAccount:
    CreditAccount.insert(user=user_id).on_conflict_ignore().execute()
    query = CreditAccount.select().where(CreditAccount.user == user_id)
    return (query.for_update() if is_postgres() else query).get()


def _validate(amount_credits: int, kind: str) -> None:
    if amount_credits <= 0 or kind not in KINDS:
        raise ValueError(f"invalid movement: {amount_credits} {kind!r}")


def _movement(entry: LedgerEntry, *, replayed: bool) -> Movement:
    return Movement(entry.id, entry.account_id, entry.amount_credits, entry.balance_after,
                    entry.held_after, entry.balance_after - entry.held_after, replayed,
                    entry.shortfall_credits)


def _move(account: CreditAccount, delta: int, *, kind: str, idempotency_key: str,
          reference: str, actor_id: int | None, memo: str, shortfall: int = 0) -> Movement:
    existing = LedgerEntry.get_or_none(LedgerEntry.idempotency_key == idempotency_key)
    if existing is not None:
        return _movement(existing, replayed=True)
    account.balance += delta
    account.updated_at = utcnow()
    account.save()
    entry = LedgerEntry.create(account=account.user_id, amount_credits=delta, kind=kind,
                               balance_after=account.balance, held_after=account.held,
                               shortfall_credits=shortfall, idempotency_key=idempotency_key,
                               reference=reference, actor=actor_id, memo=memo)
    return _movement(entry, replayed=False)


def credit(user_id: int, amount_credits: int, *, kind: str, idempotency_key: str,
           reference: str = "", actor_id: int | None = None, memo: str = "") -> Movement:
    _validate(amount_credits, kind)
    with _transaction():
        return _move(_locked_account(user_id), amount_credits, kind=kind,
                     idempotency_key=idempotency_key, reference=reference, actor_id=actor_id,
                     memo=memo)


def debit(user_id: int, amount_credits: int, *, kind: str, idempotency_key: str,
          reference: str = "", actor_id: int | None = None, memo: str = "",
          allow_partial: bool = False) -> Movement:
    _validate(amount_credits, kind)
    with _transaction():
        account = _locked_account(user_id)
        available = account.balance - account.held
        if amount_credits > available and not allow_partial and \
                LedgerEntry.get_or_none(LedgerEntry.idempotency_key == idempotency_key) is None:
            raise InsufficientCredits()
        taken = min(amount_credits, available)
        return _move(account, -taken, kind=kind, idempotency_key=idempotency_key,
                     reference=reference, actor_id=actor_id, memo=memo,
                     shortfall=amount_credits - taken)

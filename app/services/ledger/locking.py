"""Transactions and row locks for the ledger's read-then-decide paths: holds, settles,
releases, partial debits, promo redemptions, adjustments (plain credits and debits run as one
statement instead: see `statements`).

The account row is locked before anything is decided, so concurrent movements of one account
queue while other accounts proceed in parallel: how each database does it is in
`app.transactions` (a row lock on PostgreSQL, the single write lock on SQLite).
"""

from __future__ import annotations

from typing import Any

from peewee import ModelSelect

from app.models.ledger import CreditAccount
from app.transactions import transactions


def ledger_transaction() -> Any:
    """A transaction that serialises writers of the rows it locks."""
    return transactions().write_transaction()


def snapshot_transaction() -> Any:
    """A read-only view of one instant, for checks that read several tables."""
    return transactions().snapshot_transaction()


def locked(query: ModelSelect) -> ModelSelect:
    """`query … FOR UPDATE` on PostgreSQL; on SQLite the write transaction already locks."""
    return transactions().locked(query)


def lock_account(user_id: int) -> CreditAccount | None:
    return locked(CreditAccount.select().where(CreditAccount.user == user_id)).get_or_none()

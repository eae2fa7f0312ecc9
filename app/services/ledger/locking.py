"""Transactions and row locks for the ledger's read-then-decide paths: holds, settles,
releases, partial debits, promo redemptions, adjustments (plain credits and debits run as one
statement instead: see `statements`).

PostgreSQL: a plain (READ COMMITTED) transaction; the account row is locked with
`SELECT … FOR UPDATE` before anything is decided, so concurrent movements of one account queue
on that row while other accounts proceed in parallel. SQLite (embedded): `BEGIN IMMEDIATE`
takes the database's single write lock up front, so no writer can read a balance another
writer is about to change. Inside an outer transaction these become savepoints.
"""

from __future__ import annotations

from typing import Any

from peewee import ModelSelect

from app.database import is_postgres
from app.extensions import db
from app.models.ledger import CreditAccount


def ledger_transaction() -> Any:
    """A transaction that serialises writers of the rows it locks (see the module docstring)."""
    return db.atomic() if is_postgres() else db.atomic("IMMEDIATE")


def snapshot_transaction() -> Any:
    """A read-only view of one instant, for checks that read several tables."""
    return db.atomic(isolation_level="REPEATABLE READ") if is_postgres() else db.atomic()


def locked(query: ModelSelect) -> ModelSelect:
    """`query … FOR UPDATE` on PostgreSQL; on SQLite the IMMEDIATE transaction already locks."""
    return query.for_update() if is_postgres() else query


def lock_account(user_id: int) -> CreditAccount | None:
    return locked(CreditAccount.select().where(CreditAccount.user == user_id)).get_or_none()

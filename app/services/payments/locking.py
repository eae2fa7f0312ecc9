"""Transactions and row locks of the payment paths (see `app.transactions` for each
database's way: row locks on PostgreSQL, the single write lock on SQLite)."""

from __future__ import annotations

from typing import Any

from peewee import ModelSelect

from app.transactions import transactions


def write_transaction() -> Any:
    """A plain transaction on PostgreSQL. On SQLite, `BEGIN IMMEDIATE` takes the write lock up
    front, so two writers queue on `busy_timeout` instead of failing to upgrade a read lock.
    Inside an outer transaction it is a savepoint."""
    return transactions().write_transaction()


def locked(query: ModelSelect) -> ModelSelect:
    """`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write transaction already serialises."""
    return transactions().locked(query)

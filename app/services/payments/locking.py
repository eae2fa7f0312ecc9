"""Transactions and row locks that work on PostgreSQL (row locks) and SQLite (one writer)."""

from __future__ import annotations

from typing import Any

from peewee import ModelSelect

from app.database import is_postgres
from app.extensions import db


def write_transaction() -> Any:
    """A plain transaction on PostgreSQL. On SQLite, `BEGIN IMMEDIATE` takes the write lock up
    front, so two writers queue on `busy_timeout` instead of failing to upgrade a read lock.
    Inside an outer transaction it is a savepoint."""
    return db.atomic() if is_postgres() else db.atomic("IMMEDIATE")


def locked(query: ModelSelect) -> ModelSelect:
    """`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write transaction already serialises."""
    return query.for_update() if is_postgres() else query

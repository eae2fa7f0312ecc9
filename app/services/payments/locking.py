"""Transactions and row locks that work on PostgreSQL (row locks) and SQLite (one writer)."""

from __future__ import annotations

from peewee import SqliteDatabase, _atomic

from app.extensions import db


def write_transaction() -> _atomic:
    """A transaction that takes the write lock up front on SQLite, so two writers queue on
    `busy_timeout` instead of failing to upgrade a read lock; a plain one on PostgreSQL."""
    if isinstance(db.obj, SqliteDatabase) and not db.in_transaction():
        return db.atomic("IMMEDIATE")
    return db.atomic()


def locked(query):
    """`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write transaction already serialises."""
    return query if isinstance(db.obj, SqliteDatabase) else query.for_update()

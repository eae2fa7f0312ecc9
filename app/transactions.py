"""Transactions and row locks for read-then-decide paths, one implementation per database.

PostgreSQL: a plain (READ COMMITTED) transaction; the rows a decision depends on are locked
with `SELECT … FOR UPDATE`, so concurrent writers of one row queue on it while others proceed
in parallel. SQLite (embedded): `BEGIN IMMEDIATE` takes the database's single write lock up
front, so no writer can read a row another writer is about to change, and two writers queue on
`busy_timeout` instead of failing to upgrade a read lock; no row lock is needed. Inside an
outer transaction a transaction is a savepoint.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from peewee import ModelSelect

from app.database import Twins
from app.extensions import db


class Transactions(ABC):
    @abstractmethod
    def write_transaction(self) -> Any:
        """A transaction that serialises the writers of the rows it locks."""

    @abstractmethod
    def snapshot_transaction(self) -> Any:
        """A read-only view of one instant, for checks that read several tables."""

    @abstractmethod
    def locked(self, query: ModelSelect) -> ModelSelect:
        """`query`, locking the rows it reads until the write transaction ends."""


class PostgresTransactions(Transactions):
    def write_transaction(self) -> Any:
        return db.atomic()

    def snapshot_transaction(self) -> Any:
        return db.atomic(isolation_level="REPEATABLE READ")

    def locked(self, query: ModelSelect) -> ModelSelect:
        return query.for_update()


class SqliteTransactions(Transactions):
    def write_transaction(self) -> Any:
        return db.atomic("IMMEDIATE")

    def snapshot_transaction(self) -> Any:
        return db.atomic()  # in WAL mode a transaction reads one snapshot throughout

    def locked(self, query: ModelSelect) -> ModelSelect:
        return query  # the write transaction already excludes every other writer


_TWINS: Twins[Transactions] = Twins(postgres=PostgresTransactions(),
                                    sqlite=SqliteTransactions())
transactions = _TWINS.current


def write_transaction() -> Any:
    return transactions().write_transaction()


def snapshot_transaction() -> Any:
    return transactions().snapshot_transaction()


def locked(query: ModelSelect) -> ModelSelect:
    return transactions().locked(query)

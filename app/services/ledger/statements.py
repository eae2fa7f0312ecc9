"""A credit or debit as SQL: the hot path of the whole hub, one implementation per dialect
(`PostgresStatements` and `SqliteStatements`, side by side behind `Statements`).

Both run the same steps: lock the account row, refuse if the available amount (balance − held)
would go below zero, journal the entry under its idempotency key (`ON CONFLICT DO NOTHING`: a
key already taken changes nothing), then write the account. On PostgreSQL the steps are the
function `ledger_move` (migration 003), called as ONE statement: one round trip, and the row
lock (`SELECT … FOR UPDATE`) is held only while the function runs; on its own the statement is
its own transaction, inside the caller's transaction it is part of that one. SQLite runs the
steps as statements inside the caller's `BEGIN IMMEDIATE`, which already excludes every other
writer. The SQL is plain text rather than query-builder calls: at thousands of debits per
second on two cores, generating SQL cost more CPU than running it.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from app.database import Twins
from app.extensions import db
from app.models.base import utcnow
from app.models.ledger import CreditAccount

Status = Literal["applied", "no_account", "insufficient", "key_taken"]

_POSTGRES_MOVE = ("SELECT o_status, o_balance, o_held, o_entry_id "
                  "FROM ledger_move(%s, %s, %s, %s, %s, %s, %s, %s)")
_SQLITE_ACCOUNT = "SELECT balance, held, updated_at FROM credit_accounts WHERE user_id = ?"
_SQLITE_UPDATE_ACCOUNT = "UPDATE credit_accounts SET balance = ?, updated_at = ? WHERE user_id = ?"
_INSERT_ENTRY = ("INSERT INTO ledger_entries (account_id, amount_credits, kind, balance_after, "
                 "held_after, shortfall_credits, idempotency_key, reference, actor_id, memo, "
                 "created_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) "
                 "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id")


@dataclass(frozen=True)
class Outcome:
    status: Status
    balance: int  # after the movement if applied, else as it stands
    held: int
    entry_id: int | None = None


class Statements(ABC):
    """A credit or debit as one step: the interface both databases implement."""

    @abstractmethod
    def movement_transaction(self) -> Any:
        """What a movement runs in (a savepoint inside a caller's transaction)."""

    @abstractmethod
    def apply_movement(self, user_id: int, delta: int, *, kind: str, key: str, reference: str,
                       actor_id: int | None, memo: str, now: datetime) -> Outcome:
        """Add `delta` (signed) to the account unless the available amount would go below
        zero, journalled under `key` (`reference` and `memo` already cut to their columns)."""


class PostgresStatements(Statements):
    """`ledger_move` (migration 003): one statement, atomic on its own."""

    def movement_transaction(self) -> Any:
        return contextlib.nullcontext()

    def apply_movement(self, user_id: int, delta: int, *, kind: str, key: str, reference: str,
                       actor_id: int | None, memo: str, now: datetime) -> Outcome:
        status, balance, held, entry_id = db.execute_sql(
            _POSTGRES_MOVE, (user_id, delta, kind, key, reference, actor_id, memo, now)
        ).fetchone()
        return Outcome(status, balance or 0, held or 0, entry_id)


class SqliteStatements(Statements):
    """The steps of `ledger_move` as statements inside `BEGIN IMMEDIATE`."""

    def movement_transaction(self) -> Any:
        return db.atomic("IMMEDIATE")

    def apply_movement(self, user_id: int, delta: int, *, kind: str, key: str, reference: str,
                       actor_id: int | None, memo: str, now: datetime) -> Outcome:
        row = db.execute_sql(_SQLITE_ACCOUNT, (user_id,)).fetchone()
        if row is None:
            return Outcome("no_account", 0, 0)
        balance, held = row[0], row[1]
        if balance + delta < held:
            return Outcome("insufficient", balance, held)
        stamp = max(now, CreditAccount.updated_at.python_value(row[2]))
        entry_id = insert_entry(user_id, delta, balance=balance + delta, held=held, kind=kind,
                                key=key, reference=reference, actor_id=actor_id, memo=memo,
                                shortfall=0, stamp=stamp)
        if entry_id is None:
            return Outcome("key_taken", balance, held)
        db.execute_sql(_SQLITE_UPDATE_ACCOUNT, (balance + delta, stamp, user_id))
        return Outcome("applied", balance + delta, held, entry_id)


_TWINS: Twins[Statements] = Twins(postgres=PostgresStatements(), sqlite=SqliteStatements())


def movement_transaction() -> Any:
    """What a movement runs in: nothing more on PostgreSQL (its one statement is atomic);
    `BEGIN IMMEDIATE` on SQLite (a savepoint inside a caller's transaction)."""
    return _TWINS.current().movement_transaction()


def apply_movement(user_id: int, delta: int, *, kind: str, key: str, reference: str,
                   actor_id: int | None, memo: str) -> Outcome:
    """Add `delta` (signed) to the account unless the available amount would go below zero,
    journalled under `key`. Run inside `movement_transaction()`."""
    return _TWINS.current().apply_movement(user_id, delta, kind=kind, key=key,
                                           reference=reference[:200], actor_id=actor_id,
                                           memo=memo[:500], now=utcnow())


def insert_entry(user_id: int, delta: int, *, balance: int, held: int, kind: str, key: str,
                 reference: str, actor_id: int | None, memo: str, shortfall: int,
                 stamp: datetime) -> int | None:
    """Journal one movement; None if the idempotency key is taken (by a committed movement)."""
    row = db.execute_sql(_INSERT_ENTRY.format(p=db.param),
                         (user_id, delta, kind, balance, held, shortfall, key, reference[:200],
                          actor_id, memo[:500], stamp)).fetchone()
    return row[0] if row else None

"""The base model every table inherits: bound to the global database proxy."""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import Model

from app.extensions import db

# The largest values PostgreSQL's INTEGER and BIGINT columns hold (SQLite's INTEGER holds a
# BIGINT). An input stored in one is refused past its bound by validation, by name, rather
# than left to fail in the database as a 500.
INTEGER_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1


def utcnow() -> datetime:
    """Naive UTC time: what peewee stores the same way on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False

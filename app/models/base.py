"""The base model every table inherits: bound to the global database proxy."""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import Model

from app.extensions import db


def utcnow() -> datetime:
    """Naive UTC time: what peewee stores the same way on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False

"""Statements for the per-request hot path, with their SQL text built once and reused.

Building SQL with peewee's query builder costs more CPU than PostgreSQL spends running a
primary-key statement, and a job runs about ten of them. These helpers compile a model's
INSERT (and read rows back into model instances) once per column set, on either dialect;
the statements themselves stay plain text next to the code that runs them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

from peewee import Field, Model

from app.extensions import db

M = TypeVar("M", bound=Model)


@functools.cache
def _insert_sql(model: type[Model], names: tuple[str, ...], param: str, conflict: str) -> str:
    meta = model._meta
    columns = ", ".join(f'"{meta.fields[name].column_name}"' for name in names)
    values = ", ".join(param for _ in names)
    return f'INSERT INTO "{meta.table_name}" ({columns}) VALUES ({values}){conflict}'  # noqa: S608  # nosec B608  # names from the model; values are bound parameters


def _defaults(model: type[Model], given: dict[str, Any]) -> dict[str, Any]:
    """The model's Python-side defaults for the fields not given (what `Model.insert` adds)."""
    row = dict(given)
    for name, default in model._meta.defaults.items():
        key = name.name if isinstance(name, Field) else name
        if key not in row:
            row[key] = default() if callable(default) else default
    return row


def insert_row(model: type[Model], values: dict[str, Any], *,
               ignore_conflict: bool = False) -> int:
    """INSERT one row (defaults filled in like `Model.insert`); return the rows inserted (0 when
    `ignore_conflict` and the row already exists)."""
    row = _defaults(model, values)
    names = tuple(row)
    fields = model._meta.fields
    params = [fields[name].db_value(row[name]) for name in names]
    sql = _insert_sql(model, names, db.param, " ON CONFLICT DO NOTHING" if ignore_conflict else "")
    return db.execute_sql(sql, params).rowcount


@functools.cache
def column_list(model: type[Model], alias: str = "") -> str:
    """Every column of the model, in field order, for `SELECT`/`RETURNING` lists."""
    qualifier = f"{alias}." if alias else ""
    return ", ".join(f'{qualifier}"{field.column_name}"' for field in model._meta.sorted_fields)


def model_from_row(model: type[M], row: Sequence[Any]) -> M:
    """A model instance from a row selected with `column_list(model)` (extra trailing values,
    e.g. a joined model's columns, are ignored)."""
    values = {field.name: field.python_value(value)
              for field, value in zip(model._meta.sorted_fields, row, strict=False)}
    instance = model(**values)
    instance._dirty.clear()
    return instance


def width(model: type[Model]) -> int:
    """How many columns `column_list(model)` selects."""
    return len(model._meta.sorted_fields)


@functools.cache
def _select_sql(model: type[Model], where: str, param: str, lock: bool) -> str:
    return (f'SELECT {column_list(model)} FROM "{model._meta.table_name}" '  # noqa: S608  # nosec B608  # names from the model; `where` is a constant with bound parameters
            f'WHERE {where.format(p=param)}{" FOR UPDATE" if lock else ""}')


def select_one(model: type[M], where: str, params: Sequence[Any], *,
               for_update: bool = False) -> M | None:
    """The first row matching `where` (plain SQL with `{p}` placeholders), or None.

    `for_update` locks the row on PostgreSQL (SQLite's `BEGIN IMMEDIATE` already has)."""
    from app.database import is_postgres

    lock = for_update and is_postgres()
    row = db.execute_sql(_select_sql(model, where, db.param, lock), params).fetchone()
    return None if row is None else model_from_row(model, row)

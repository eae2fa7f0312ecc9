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
    return f'INSERT INTO "{meta.table_name}" ({columns}) VALUES ({values}){conflict}'  # noqa: S608 — names from the model


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
def column_list(model: type[Model]) -> str:
    """Every column of the model, in field order, for `SELECT`/`RETURNING` lists."""
    return ", ".join(f'"{field.column_name}"' for field in model._meta.sorted_fields)


def model_from_row(model: type[M], row: Sequence[Any]) -> M:
    """A model instance from a row selected with `column_list(model)`."""
    values = {field.name: field.python_value(value)
              for field, value in zip(model._meta.sorted_fields, row, strict=True)}
    instance = model(**values)
    instance._dirty.clear()
    return instance

"""Bulk inserts for the benchmarks that follow the schema as it is.

A benchmark seeds millions of rows with `INSERT … SELECT` (or times a bare `INSERT`), which
the ORM cannot do for it; a hand-written column list there goes stale when a migration adds a
NOT NULL column. `insert_parts` writes the column list from the live table instead: the
benchmark gives SQL for the columns it decides, every other column takes the model's default
(what the app's own inserts write), and a NOT NULL column with neither stops the run naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import Model


@dataclass(frozen=True)
class InsertParts:
    table: str
    columns: str  # "a, b, c"
    expressions: str  # one SQL expression per column, in the same order
    params: dict  # the model defaults the expressions name, as pyformat parameters


def insert_parts(cursor, model: type[Model], values: dict[str, str]) -> InsertParts:
    """The columns of `model`'s table to insert, with `values` (column name → SQL expression,
    which may name pyformat parameters) for the ones the caller decides.

    A column not in `values` takes the model field's default as a parameter; with no model
    default it is left to the database (its own default, or NULL), unless it is NOT NULL
    without a database default: then the seeding cannot be right, and SystemExit names it."""
    table = model._meta.table_name
    cursor.execute("SELECT column_name, is_nullable = 'YES', column_default IS NOT NULL "
                   "FROM information_schema.columns WHERE table_schema = current_schema() "
                   "AND table_name = %s ORDER BY ordinal_position", (table,))
    live = cursor.fetchall()
    if not live:
        raise SystemExit(f"bench seeding: table {table} does not exist")
    unknown = set(values) - {name for name, _, _ in live}
    if unknown:
        raise SystemExit(f"bench seeding: {table} has no column {', '.join(sorted(unknown))}")
    fields = {field.column_name: field for field in model._meta.sorted_fields}
    columns, expressions, params = [], [], {}
    for name, nullable, has_db_default in live:
        field = fields.get(name)
        if name in values:
            expression = values[name]
        elif field is not None and field.default is not None:
            default = field.default() if callable(field.default) else field.default
            expression = f"%(default_{table}_{name})s"
            params[f"default_{table}_{name}"] = field.db_value(default)
        elif nullable or has_db_default:
            continue
        else:
            raise SystemExit(f"bench seeding: {table}.{name} is NOT NULL with no default in the "
                             "model or the database; give the benchmark a value for it")
        columns.append(name)
        expressions.append(expression)
    return InsertParts(table, ", ".join(columns), ", ".join(expressions), params)

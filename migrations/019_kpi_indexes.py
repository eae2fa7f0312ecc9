"""Peewee migrations -- 019_kpi_indexes.py.

Written by hand: the indexes behind the back-office home and the dashboard's figures
(`app.services.kpis`), each an index-only scan over a period (figures:
docs/benchmarks/2026-12-04-kpis.md).

- `ledger_entries (created_at) … WHERE kind <> 'usage'`: purchases, promo codes, adjustments
  and reversals over a period. Partial: usage entries, one per settled job and nearly all of
  the table, are not in it, so the hot path's inserts do not maintain it.
- `usage_records (created_at)` and `(user_id, created_at)`, covering what the totals read; they
  replace the single-column `created_at` and `user_id` indexes (same leading column: the
  retention pass's scan and the users' cascade use them as before).
- `jobs (created_at)` covering status and provider; replaces the single-column `created_at`.
- `payments (credited_at)`, partial: credited payments only.

PostgreSQL gets `INCLUDE` columns (not in the key, so no sort cost); SQLite, which has no
`INCLUDE`, gets them as trailing key columns. PostgreSQL also gets extended statistics on
`usage_records` (model, provider, and `created_at` to the day and to the hour): without them it
takes every record of a period for its own group, sorts them all (on disk past `work_mem`)
instead of hashing the few hundred groups there are, which measured 6 times slower.

`CREATE INDEX` blocks writes to its table while it builds: seconds per million rows (the note
above has the build times at its scale).
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401

# name, table, key columns, covered columns, predicate
NEW = (
    ("ledgerentry_created_at_not_usage", "ledger_entries", "created_at", "kind, amount_credits",
     "kind <> 'usage'"),
    ("usagerecord_created_at_totals", "usage_records", "created_at",
     "user_id, model, provider, cost_credits, input_tokens, output_tokens, video_seconds", ""),
    ("usagerecord_user_id_created_at_totals", "usage_records", "user_id, created_at",
     "model, provider, cost_credits, input_tokens, output_tokens, video_seconds", ""),
    ("job_created_at_outcome", "jobs", "created_at", "status, provider", ""),
    ("payment_credited_at", "payments", "credited_at", "", "credited_at IS NOT NULL"),
)
# name, the bucket expression (as `app.services.kpis.usage` groups by it)
STATISTICS = (
    ("usagerecord_groups_day", "date_trunc('day', created_at)"),
    ("usagerecord_groups_hour", "date_trunc('hour', created_at)"),
)
REPLACED = (
    ("usagerecord_created_at", "usage_records", "created_at"),
    ("usagerecord_user_id", "usage_records", "user_id"),
    ("job_created_at", "jobs", "created_at"),
)


def _postgres(database: pw.Database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def _create(name: str, table: str, key: str, covered: str, predicate: str, postgres: bool) -> str:
    if covered and postgres:
        columns = f"({key}) INCLUDE ({covered})"
    else:
        columns = f"({key}{', ' + covered if covered else ''})"
    where = f" WHERE {predicate}" if predicate else ""
    return f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns}{where}"


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    postgres = _postgres(database)
    for name, *_ in REPLACED:
        migrator.sql(f"DROP INDEX IF EXISTS {name}")
    for spec in NEW:
        migrator.sql(_create(*spec, postgres=postgres))
    if postgres:
        for name, bucket in STATISTICS:
            migrator.sql(f"CREATE STATISTICS IF NOT EXISTS {name} (ndistinct) "
                         f"ON model, provider, ({bucket}) FROM usage_records")
        migrator.sql("ANALYZE usage_records")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if _postgres(database):
        for name, _ in STATISTICS:
            migrator.sql(f"DROP STATISTICS IF EXISTS {name}")
    for name, *_ in NEW:
        migrator.sql(f"DROP INDEX IF EXISTS {name}")
    for name, table, column in REPLACED:
        migrator.sql(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})")

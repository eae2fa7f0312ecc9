"""Peewee migrations -- 015_embedding_jobs.py.

Written by hand: `jobs.type` widened from varchar(8) to varchar(16), for `embedding` jobs
(`POST /v1/embeddings`). PostgreSQL only: SQLite does not enforce a varchar's length, and
`job_open` (011) inserts the row through `jsonb_populate_record(NULL::jobs, …)`, which follows
the column's new type by itself. Depends on nothing of 014.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401


def _postgres(database: pw.Database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    if _postgres(database):
        migrator.sql("ALTER TABLE jobs ALTER COLUMN type TYPE varchar(16)")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Refused by PostgreSQL (value too long) while an embedding job exists: history is kept."""
    if _postgres(database):
        migrator.sql("ALTER TABLE jobs ALTER COLUMN type TYPE varchar(8)")

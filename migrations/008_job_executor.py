"""Peewee migrations -- 008_job_executor.py.

Written by hand: `jobs.executor` says where a job runs. `queue` (every job so far): a Dramatiq
worker runs it and its events are relayed to whoever watches. `web`: the web process serving a
`/v1` caller runs it itself, so the caller's stream needs no broker hop and no relay read. The
reaper never requeues a `web` job: the caller it was running for is gone.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("jobs", executor=pw.CharField(max_length=8, default="queue"))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("jobs", "executor")

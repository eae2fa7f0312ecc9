"""Peewee migrations -- 013_periodic_job_runs.py.

Written by hand: `periodic_job_runs`, one row per periodic job (the actor's name), saying when
the hub first knew of it, when the scheduler last enqueued it and when a worker last finished a
run of it. `/readyz`, `/metrics` and the back office read it to say when a job is overdue (a
missing scheduler, or no worker on its queue); a new leader scheduler reads it to start each job
one interval after its last enqueue. In the database rather than Redis so that it survives a
restart of either, and works the same on the embedded SQLite file.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class PeriodicJobRun(pw.Model):
        job = pw.CharField(max_length=100, primary_key=True)
        registered_at = pw.DateTimeField()
        last_enqueued_at = pw.DateTimeField(null=True)
        last_run_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "periodic_job_runs"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("periodic_job_runs")

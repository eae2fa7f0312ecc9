"""When each periodic job was last enqueued and last finished a run (app.services.periodic_jobs)."""

from __future__ import annotations

from peewee import CharField, DateTimeField

from app.models.base import BaseModel


class PeriodicJobRun(BaseModel):
    job = CharField(max_length=100, primary_key=True)  # the actor's name
    # When the hub first knew of the job: a job that never ran counts from here.
    registered_at = DateTimeField()
    last_enqueued_at = DateTimeField(null=True)  # by the scheduler
    last_run_at = DateTimeField(null=True)  # a worker finished a run without raising

    class Meta:
        table_name = "periodic_job_runs"

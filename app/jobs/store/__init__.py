"""A job's database steps that move credits, each all or nothing.

- `open_job`: check the API key's limits, place the hold, reserve it against the key's caps and
  insert the job's row;
- `undo_open`: take back a job that never ran, as if never opened;
- `settle_job`: for a job whose outcome is recorded, settle its hold, show it terminal, record
  its usage and give the unused part of the hold back to the key;
- `finish_job`: the run that owns a running job records its outcome and settles, together;
- `end_unstarted`: a job no run has started (canceled while queued, or its hold gone) ends at
  no cost: its outcome recorded and its hold settled at zero, together.

Each is a step of the `base.JobStore` interface, implemented twice side by side:
`postgres.PostgresJobStore` (one PL/pgSQL function call per step, outside any transaction) and
`sqlite.SqliteJobStore` (its Python twin in a `BEGIN IMMEDIATE` transaction). `store()` is the
one for the database in use; the functions below are its steps.
"""

from __future__ import annotations

from typing import Any

from app.database import Twins
from app.jobs.store.base import FINISH_FIELDS, JobStore
from app.jobs.store.postgres import PostgresJobStore
from app.jobs.store.sqlite import SqliteJobStore
from app.models.api_keys import ApiKey
from app.models.jobs import Job
from app.models.users import User
from app.services.ledger.cache import CommandWriter

__all__ = ["FINISH_FIELDS", "JobStore", "end_unstarted", "finish_job", "open_job", "settle_job",
           "store", "undo_open"]

_STORES: Twins[JobStore] = Twins(postgres=PostgresJobStore(), sqlite=SqliteJobStore())
store = _STORES.current


def open_job(job: Job, *, user: User, api_key: ApiKey | None, hold_ttl_s: int,
             price_stamp: str | None = None, writer: CommandWriter | None = None) -> None:
    """`JobStore.open_job` on the database in use."""
    store().open_job(job, user=user, api_key=api_key, hold_ttl_s=hold_ttl_s,
                     price_stamp=price_stamp, writer=writer)


def undo_open(job: Job) -> None:
    """`JobStore.undo_open` on the database in use."""
    store().undo_open(job)


def settle_job(job: Job, writer: CommandWriter | None = None) -> int | None:
    """`JobStore.settle_job` on the database in use."""
    return store().settle_job(job, writer)


def finish_job(job_id: str, token: str, *, outcome: str, cost_credits: int,
               error: dict[str, str] | None, fields: dict[str, Any],
               writer: CommandWriter | None = None) -> tuple[Job, int | None] | None:
    """`JobStore.finish_job` on the database in use."""
    return store().finish_job(job_id, token, outcome=outcome, cost_credits=cost_credits,
                              error=error, fields=fields, writer=writer)


def end_unstarted(job_id: str, token: str, *, outcome: str, error: dict[str, str] | None,
                  condition: str, params: tuple = ()) -> tuple[Job, int | None] | None:
    """`JobStore.end_unstarted` on the database in use."""
    return store().end_unstarted(job_id, token, outcome=outcome, error=error,
                                 condition=condition, params=params)

"""The interface of a job's credit steps (`JobStore`), and the steps both databases share.

`postgres.PostgresJobStore` runs each step as one call of a PL/pgSQL function (migrations 009
to 011; `job_finish` as of 014); `sqlite.SqliteJobStore` runs the same steps as statements in
one `BEGIN IMMEDIATE` transaction. Both are held to the same rules by the money-path model-based tests.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from app.errors import NotFound
from app.extensions import db
from app.models.api_keys import ApiKey
from app.models.base import utcnow
from app.models.hot_sql import column_list, model_from_row
from app.models.jobs import Job
from app.models.users import User
from app.services import api_keys, ledger
from app.services.ledger.cache import CommandWriter

# The fields a run records with its outcome (every one `job_finish` writes).
FINISH_FIELDS = ("input_tokens", "output_tokens", "finish_reason", "upstream_ms", "result_text",
                 "delivered_chars", "provider", "channel", "first_token_at",
                 "cached_input_tokens", "cache_write_tokens", "reasoning_tokens", "output_json")

# Ends a job no run has started (`end_unstarted`), where its `condition` holds.
_END_UNSTARTED = ("UPDATE jobs SET status = 'running', outcome = {p}, cost_credits = 0, "
                  "error_code = {p}, error_message = {p}, input_tokens = 0, output_tokens = 0, "
                  "worker_token = {p}, started_at = COALESCE(started_at, {p}) "
                  "WHERE id = {p} AND ({condition}) RETURNING {columns}")


class JobStore(ABC):
    """A job's database steps that move credits, each all or nothing.

    Credits move only through the ledger. The key's reservation of a job's hold counts in the
    month of `job.created_at`, where its settle gives the unused part back.
    """

    @abstractmethod
    def open_job(self, job: Job, *, user: User, api_key: ApiKey | None, hold_ttl_s: int,
                 price_stamp: str | None = None, writer: CommandWriter | None = None) -> None:
        """Hold `job.hold_credits` for `job` and insert its row (setting `job.hold_id`).

        Refusals (nothing held, nothing inserted): InsufficientCredits (402) and the key's
        limits (`api_keys.KeyLimitError`), the key's before the credits. `job` is a new,
        unsaved row with every other field set. `writer` (here and in the settles): what the
        balance cache's bump goes through (a request's pending writes; None: at once).
        """

    @abstractmethod
    def settle_job(self, job: Job, writer: CommandWriter | None = None) -> int | None:
        """Settle the hold of `job` (its outcome and cost recorded), show it terminal, record
        its usage and give the key the unused part of the hold back, in the month that
        reserved it. The credits charged, or None if it was already shown (a repeated
        settle)."""

    @abstractmethod
    def finish_job(self, job_id: str, token: str, *, outcome: str, cost_credits: int,
                   error: dict[str, str] | None, fields: dict[str, Any],
                   writer: CommandWriter | None = None) -> tuple[Job, int | None] | None:
        """Record the outcome (with `fields`, among FINISH_FIELDS) of a running job owned by
        `token` and `settle_job` it, all or nothing. The job as it ends and the credits
        charged (None if another settle showed it first); None if the job is not this run's
        to finish."""

    def undo_open(self, job: Job) -> None:
        """Take back a job that never ran (its message could not be sent), as if never
        opened: give its key reservation back, release its hold and delete its row, in one
        transaction (the key first, then the account: the order `job_open` locks them in)."""
        with ledger.transaction():
            if job.api_key_id is not None:
                api_keys.record_key_spend(job.api_key_id, -job.hold_credits,
                                          month=api_keys.month_of(job.created_at))
            ledger.release_hold(job.hold_id)
            Job.delete().where(Job.id == job.id).execute()

    def end_unstarted(self, job_id: str, token: str, *, outcome: str,
                      error: dict[str, str] | None, condition: str,
                      params: tuple = ()) -> tuple[Job, int | None] | None:
        """End at no cost a job no run has started, if `condition` holds: SQL on its `jobs`
        row with `{p}` placeholders for `params` (e.g. it is still queued). Its outcome (owned
        by `token`) is recorded and its hold settled at zero in one transaction: no crash
        leaves it `running` with no lease, which nothing would ever finish. The job as it ends
        and the credits charged (None if another settle showed it first); None if `condition`
        did not hold. Off the hot path: two statements in one transaction, the settle last."""
        error_code, error_message = error_fields(error)
        sql = _END_UNSTARTED.format(p=db.param, condition=condition.format(p=db.param),
                                    columns=column_list(Job))
        with ledger.transaction():
            row = db.execute_sql(sql, (outcome, error_code, error_message, token, utcnow(),
                                       job_id, *params)).fetchone()
            if row is None:
                return None
            job = model_from_row(Job, row)
            return job, self.settle_job(job)


def open_terms(job: Job, *, user: User, api_key: ApiKey | None) -> tuple[str, str, str]:
    """The hold's idempotency key and purpose, and the month the key's reservation counts in,
    of a job to open; NotFound if `api_key` is not `user`'s."""
    if api_key is not None and api_key.user_id != user.id:
        raise NotFound("no such API key")
    return f"job:{job.id}:hold", f"{job.type}_job", api_keys.month_of(job.created_at)


def check_finish_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(FINISH_FIELDS)
    if unknown:
        raise ValueError(f"not fields a run records with its outcome: {sorted(unknown)}")


def error_fields(error: dict[str, str] | None) -> tuple[str | None, str | None]:
    return (error["code"], error["message"]) if error else (None, None)


def show(job: Job, charged: int, finished_at: datetime) -> None:
    """Show `job` as its settle left it (terminal, charged)."""
    job.status, job.cost_credits, job.finished_at = job.outcome, charged, finished_at
    job.lease_expires_at = None

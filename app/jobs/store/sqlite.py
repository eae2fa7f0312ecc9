"""A job's credit steps on SQLite: the PL/pgSQL functions' twins, as statements in one
`BEGIN IMMEDIATE` transaction (its one writer at a time needs no more), moving credits through
`ledger.place_hold` and `ledger.settle_hold`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.extensions import db
from app.jobs.store.base import (
    JobStore,
    check_finish_fields,
    error_fields,
    open_terms,
    show,
)
from app.models.api_keys import ApiKey
from app.models.base import utcnow
from app.models.hot_sql import column_list, insert_row, model_from_row
from app.models.jobs import Job, UsageRecord
from app.models.users import User
from app.services import api_keys, ledger
from app.services.ledger.cache import CommandWriter

_RECORD_OUTCOME = ("UPDATE jobs SET outcome = {p}, cost_credits = {p}, error_code = {p}, "
                   "error_message = {p}{sets} WHERE id = {p} AND worker_token = {p} "
                   "AND status = 'running' RETURNING {columns}")


class SqliteJobStore(JobStore):
    """The steps of `job_open_checked`, `job_settle` and `job_finish` in Python."""

    def open_job(self, job: Job, *, user: User, api_key: ApiKey | None, hold_ttl_s: int,
                 price_stamp: str | None = None, writer: CommandWriter | None = None) -> None:
        hold_key, purpose, month = open_terms(job, user=user, api_key=api_key)
        # The key's limits and reservation, the hold and the job row commit together, or none
        # does; the key first, as `job_open` checks it, so a request both over its key's
        # limits and short of credits is refused for the key on both databases.
        with ledger.transaction():
            if api_key is not None:
                api_keys.reserve_key_spend(api_key.id, user, job.model, job.hold_credits,
                                           month=month)
            hold = ledger.place_hold(user.id, job.hold_credits, idempotency_key=hold_key,
                                     purpose=purpose, reference=job.id,
                                     expires_in_s=hold_ttl_s, writer=writer)
            job.hold_id = hold.hold_id
            insert_row(Job, dict(job.__data__))

    def settle_job(self, job: Job, writer: CommandWriter | None = None) -> int | None:
        with ledger.transaction():
            movement = ledger.settle_hold(job.hold_id, job.cost_credits or 0,
                                          memo=f"{job.type} job {job.id} {job.outcome}",
                                          writer=writer)
            charged = abs(movement.amount_credits)
            finished_at = utcnow()
            shown = (Job.update(status=job.outcome, finished_at=finished_at,
                                cost_credits=charged, lease_expires_at=None)
                     .where((Job.id == job.id) & (Job.status == "running")).execute())
            if not shown:
                return None
            show(job, charged, finished_at)
            inserted = _record_usage(job, charged, finished_at)
            if inserted and job.api_key_id is not None and charged != job.hold_credits:
                api_keys.record_key_spend(job.api_key_id, charged - job.hold_credits,
                                          month=api_keys.month_of(job.created_at))
        return charged

    def finish_job(self, job_id: str, token: str, *, outcome: str, cost_credits: int,
                   error: dict[str, str] | None, fields: dict[str, Any],
                   writer: CommandWriter | None = None) -> tuple[Job, int | None] | None:
        check_finish_fields(fields)
        error_code, error_message = error_fields(error)
        sets = "".join(f", {Job._meta.fields[name].column_name} = {db.param}" for name in fields)
        params = [outcome, cost_credits, error_code, error_message,
                  *(Job._meta.fields[name].db_value(value) for name, value in fields.items()),
                  job_id, token]
        with ledger.transaction():
            row = db.execute_sql(_RECORD_OUTCOME.format(
                p=db.param, sets=sets, columns=column_list(Job)), params).fetchone()
            if row is None:
                return None
            job = model_from_row(Job, row)
            return job, self.settle_job(job, writer)


def _record_usage(job: Job, charged: int, finished_at: datetime) -> bool:
    """Insert the job's usage record; False if it already exists (a repeated settle)."""
    latency_ms = (finished_at - job.created_at).total_seconds() * 1000
    ttft_ms = (job.first_token_at - job.created_at).total_seconds() * 1000 \
        if job.first_token_at else None
    seconds = (job.video_seconds or 0) if job.outcome == "succeeded" else 0
    return bool(insert_row(UsageRecord, {
        "job": job.id, "user": job.user_id, "api_key_id": job.api_key_id, "model": job.model,
        "provider": job.provider, "status": job.outcome, "input_tokens": job.input_tokens or 0,
        "output_tokens": job.output_tokens or 0, "video_seconds": seconds,
        "cost_credits": charged, "latency_ms": latency_ms, "ttft_ms": ttft_ms},
        ignore_conflict=True))

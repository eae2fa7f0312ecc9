"""A job's credit steps on PostgreSQL: each one statement, a call of a PL/pgSQL function.

`job_open_checked`, `job_settle` and `job_finish` (migrations 009 to 011; `job_finish` as of
014) run outside any transaction, so the rows all of an account's jobs share (its credit
account, its API key) are locked only while the server runs the function, never while a client
round trip is in flight: one caller's concurrent requests do not queue behind each other's
network hops. They move credits through the ledger's functions (`ledger_hold`, `ledger_settle`).
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from typing import Any

import structlog

from app.errors import NotFound
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
from app.models.hot_sql import column_list, model_from_row
from app.models.jobs import Job
from app.models.users import User
from app.services import api_keys
from app.services.ledger.accounts import invalidate_after_commit
from app.services.ledger.cache import CommandWriter
from app.services.ledger.errors import HoldNotFound, IdempotencyKeyReused
from app.services.ledger.movements import insufficient
from app.services.prices.history import StalePrice

log = structlog.get_logger(__name__)

_OPEN = ("SELECT o_status, o_hold_id, o_available, o_spent_total, o_spent_month "
         "FROM job_open_checked(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
_SETTLE = "SELECT o_status, o_charged, o_user_id, o_shortfall FROM job_settle(%s, %s)"


@functools.cache
def _finish_sql() -> str:
    return ("SELECT o_status, o_charged, o_user_id, o_shortfall, "  # noqa: S608  # nosec B608  # column names from the model; values are bound parameters
            f"{column_list(Job, '(o_job)')} FROM job_finish(%s, %s, %s, %s, %s, %s, %s, %s)")


class PostgresJobStore(JobStore):
    """`job_open_checked`, `job_settle` and `job_finish`, one round trip each."""

    def open_job(self, job: Job, *, user: User, api_key: ApiKey | None, hold_ttl_s: int,
                 price_stamp: str | None = None, writer: CommandWriter | None = None) -> None:
        """Also refuses, when what the caller read before is no longer current (migration
        010): `api_keys.StaleApiKey` for a reused key read, `history.StalePrice` unless
        `price_stamp` is the model's newest price."""
        hold_key, purpose, month = open_terms(job, user=user, api_key=api_key)
        if api_key is not None:  # as the key read when the caller was authenticated (clear
            # errors; its caps are checked where the spend is made, on its counters as they are
            # then)
            api_keys.check_key_use(api_key, job.model, job.hold_credits,
                                   owner_verified=user.is_verified, caps=False, month=month)
        now = utcnow()
        row = {field.column_name: _json_value(field.db_value(job.__data__.get(field.name)))
               for field in Job._meta.sorted_fields if field.name != "hold_id"}
        key_stamp = getattr(api_key, "reused_stamp", None)
        status, hold_id, available, spent_total, spent_month = db.execute_sql(_OPEN, (
            api_key.id if api_key is not None else None, key_stamp, price_stamp,
            month, user.id, job.hold_credits, hold_key, purpose, job.id, now,
            now + timedelta(seconds=hold_ttl_s), json.dumps(row))).fetchone()
        if status == "stale_key":
            api_keys.forget_read(api_key)
            raise api_keys.StaleApiKey()
        if status == "stale_price":
            raise StalePrice()
        if status == "insufficient":
            raise insufficient(available, job.hold_credits)
        if status in ("key_cap_total", "key_cap_month"):  # a concurrent request spent it
            api_keys.refuse_cap(api_key, spent_total=spent_total, spent_month=spent_month,
                                amount_credits=job.hold_credits, month=month)
        if status == "no_key":
            raise NotFound("no such API key")
        if status != "applied":  # a fresh job id cannot replay a hold
            raise IdempotencyKeyReused(f"the key {hold_key} is taken")
        job.hold_id = hold_id
        invalidate_after_commit(user.id, writer)
        log.info("hold_placed", user_id=user.id, hold_id=hold_id,
                 amount_credits=job.hold_credits, purpose=purpose, reference=job.id)

    def settle_job(self, job: Job, writer: CommandWriter | None = None) -> int | None:
        finished_at = utcnow()
        status, charged, user_id, shortfall = db.execute_sql(
            _SETTLE, (job.id, finished_at)).fetchone()
        if not _settled(status, job.id, job, user_id=user_id, charged=charged,
                        shortfall=shortfall, writer=writer):
            return None
        show(job, charged, finished_at)
        return charged

    def finish_job(self, job_id: str, token: str, *, outcome: str, cost_credits: int,
                   error: dict[str, str] | None, fields: dict[str, Any],
                   writer: CommandWriter | None = None) -> tuple[Job, int | None] | None:
        check_finish_fields(fields)
        error_code, error_message = error_fields(error)
        values = {Job._meta.fields[name].column_name:
                  _json_value(Job._meta.fields[name].db_value(value))
                  for name, value in fields.items()}
        finished_at = utcnow()
        row = db.execute_sql(_finish_sql(), (
            job_id, token, outcome, cost_credits, error_code, error_message, json.dumps(values),
            finished_at)).fetchone()
        status, charged, user_id, shortfall = row[:4]
        if status == "not_owner":
            return None
        job = model_from_row(Job, row[4:]) if status != "no_job" else None
        if not _settled(status, job_id, job, user_id=user_id, charged=charged,
                        shortfall=shortfall, writer=writer):
            return job, None
        return job, charged


def _settled(status: str, job_id: str, job: Job | None, *, user_id: int, charged: int,
             shortfall: int, writer: CommandWriter | None) -> bool:
    """What `job_settle` reported: True if this call settled the job (False: already shown)."""
    if job is None or status == "no_job":
        raise HoldNotFound(f"no job {job_id}")
    if status == "no_hold":
        raise HoldNotFound(f"no hold for job {job.id}")
    if status == "key_taken":
        raise IdempotencyKeyReused(f"the settle key of job {job.id}'s hold is taken")
    if status == "already_shown":
        return False
    invalidate_after_commit(user_id, writer)
    log.info("hold_settled", hold_id=job.hold_id, user_id=user_id, charged_credits=charged,
             shortfall_credits=shortfall)
    return True


def _json_value(value: object) -> object:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value

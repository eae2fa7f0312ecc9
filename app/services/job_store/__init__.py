"""A job's database steps that move credits, each all or nothing.

- `open_job`: check the API key's limits, place the hold, reserve it against the key's caps and
  insert the job's row;
- `settle_job`: for a job whose outcome is recorded, settle its hold, show it terminal, record
  its usage and give the unused part of the hold back to the key;
- `finish_job`: the run that owns a running job records its outcome and settles, together;
- `end_unstarted`: a job no run has started (canceled while queued, or its hold gone) ends at
  no cost: its outcome recorded and its hold settled at zero, together.

On PostgreSQL each is one statement (`job_open_checked`, `job_settle`, `job_finish`: migrations
009 to 011) outside any transaction, so the rows all of an account's jobs share (its credit
account, its API key) are locked only while the server runs it, never while a client round
trip is in flight: one caller's concurrent requests no longer queue behind each other's
network hops. (`end_unstarted`, off the hot path, is two statements in one transaction, the
settle last.) SQLite runs the same steps in a `BEGIN IMMEDIATE` transaction (its one writer at
a time needs no more).
Credits move only through the ledger (its `ledger_hold`/`ledger_settle` functions on
PostgreSQL, `ledger.place_hold`/`ledger.settle_hold` on SQLite).
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from typing import Any

import structlog

from app.database import is_postgres
from app.errors import NotFound
from app.extensions import db
from app.models.api_keys import ApiKey
from app.models.base import utcnow
from app.models.hot_sql import column_list, insert_row, model_from_row
from app.models.jobs import Job, UsageRecord
from app.models.users import User
from app.providers.prices import StalePrice
from app.services import api_keys, ledger
from app.services.ledger.accounts import invalidate_after_commit
from app.services.ledger.errors import HoldNotFound, IdempotencyKeyReused
from app.services.ledger.movements import insufficient

log = structlog.get_logger(__name__)

_OPEN = ("SELECT o_status, o_hold_id, o_available, o_spent_total, o_spent_month "
         "FROM job_open_checked(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
_SETTLE = "SELECT o_status, o_charged, o_user_id, o_shortfall FROM job_settle(%s, %s)"


@functools.cache
def _finish_sql() -> str:
    return ("SELECT o_status, o_charged, o_user_id, o_shortfall, "  # noqa: S608  # nosec B608  # column names from the model; values are bound parameters
            f"{column_list(Job, '(o_job)')} FROM job_finish(%s, %s, %s, %s, %s, %s, %s, %s)")


# The fields a run records with its outcome (every one `job_finish` writes).
FINISH_FIELDS = ("input_tokens", "output_tokens", "finish_reason", "upstream_ms", "result_text",
                 "delivered_chars", "provider", "channel", "first_token_at")
_RECORD_OUTCOME = ("UPDATE jobs SET outcome = {p}, cost_credits = {p}, error_code = {p}, "
                   "error_message = {p}{sets} WHERE id = {p} AND worker_token = {p} "
                   "AND status = 'running' RETURNING {columns}")


def open_job(job: Job, *, user: User, api_key: ApiKey | None, hold_ttl_s: int,
             price_stamp: str | None = None) -> None:
    """Hold `job.hold_credits` for `job` and insert its row (setting `job.hold_id`).

    Refusals (nothing held, nothing inserted): InsufficientCredits (402) and the key's limits
    (`api_keys.KeyLimitError`). `job` is a new, unsaved row with every other field set. The
    hold counts against the key's caps in the month of `job.created_at`, where its settle gives
    the unused part back.
    On PostgreSQL also, when what the caller read before is no longer current (migration 010):
    `api_keys.StaleApiKey` for a reused key read, `prices.StalePrice` unless `price_stamp` is
    the model's newest price.
    """
    if api_key is not None and api_key.user_id != user.id:
        raise NotFound("no such API key")
    hold_key = f"job:{job.id}:hold"
    purpose = f"{job.type}_job"
    month = api_keys.month_of(job.created_at)
    if is_postgres():
        _open_postgres(job, user=user, api_key=api_key, hold_key=hold_key, purpose=purpose,
                       hold_ttl_s=hold_ttl_s, price_stamp=price_stamp, month=month)
        return
    # The key's limits and reservation, the hold and the job row commit together, or none
    # does; the key first, as `job_open` checks it, so a request both over its key's limits
    # and short of credits is refused for the key on both backends.
    with ledger.transaction():
        if api_key is not None:
            api_keys.reserve_key_spend(api_key.id, user, job.model, job.hold_credits,
                                       month=month)
        hold = ledger.place_hold(user.id, job.hold_credits, idempotency_key=hold_key,
                                 purpose=purpose, reference=job.id, expires_in_s=hold_ttl_s)
        job.hold_id = hold.hold_id
        insert_row(Job, dict(job.__data__))


def undo_open(job: Job) -> None:
    """Take back a job that never ran (its message could not be sent), as if never opened:
    give its key reservation back, release its hold and delete its row, in one transaction
    (the key first, then the account: the order `job_open` locks them in)."""
    with ledger.transaction():
        if job.api_key_id is not None:
            api_keys.record_key_spend(job.api_key_id, -job.hold_credits,
                                      month=api_keys.month_of(job.created_at))
        ledger.release_hold(job.hold_id)
        Job.delete().where(Job.id == job.id).execute()


def _open_postgres(job: Job, *, user: User, api_key: ApiKey | None, hold_key: str,
                   purpose: str, hold_ttl_s: int, price_stamp: str | None, month: str) -> None:
    if api_key is not None:  # as the key read when the caller was authenticated (clear errors;
        # its caps are checked where the spend is made, on its counters as they are then)
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
    if status in ("key_cap_total", "key_cap_month"):  # a concurrent request spent it meanwhile
        api_keys.refuse_cap(api_key, spent_total=spent_total, spent_month=spent_month,
                            amount_credits=job.hold_credits, month=month)
    if status == "no_key":
        raise NotFound("no such API key")
    if status != "applied":  # a fresh job id cannot replay a hold
        raise IdempotencyKeyReused(f"the key {hold_key} is taken")
    job.hold_id = hold_id
    invalidate_after_commit(user.id)
    log.info("hold_placed", user_id=user.id, hold_id=hold_id, amount_credits=job.hold_credits,
             purpose=purpose, reference=job.id)


def _json_value(value: object) -> object:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def settle_job(job: Job) -> int | None:
    """Settle the hold of `job` (its outcome and cost recorded), show it terminal, record its
    usage and give the key the unused part of the hold back, in the month that reserved it.
    The credits charged, or None if it was already shown (a repeated settle)."""
    if is_postgres():
        return _settle_postgres(job)
    with ledger.transaction():
        movement = ledger.settle_hold(job.hold_id, job.cost_credits or 0,
                                      memo=f"{job.type} job {job.id} {job.outcome}")
        charged = abs(movement.amount_credits)
        finished_at = utcnow()
        shown = (Job.update(status=job.outcome, finished_at=finished_at, cost_credits=charged,
                            lease_expires_at=None)
                 .where((Job.id == job.id) & (Job.status == "running")).execute())
        if not shown:
            return None
        _show(job, charged, finished_at)
        inserted = _record_usage(job, charged, finished_at)
        if inserted and job.api_key_id is not None and charged != job.hold_credits:
            api_keys.record_key_spend(job.api_key_id, charged - job.hold_credits,
                                      month=api_keys.month_of(job.created_at))
    return charged


def _settled(status: str, job_id: str, job: Job | None, *, user_id: int, charged: int,
             shortfall: int) -> bool:
    """What `job_settle` reported: True if this call settled the job (False: already shown)."""
    if job is None or status == "no_job":
        raise HoldNotFound(f"no job {job_id}")
    if status == "no_hold":
        raise HoldNotFound(f"no hold for job {job.id}")
    if status == "key_taken":
        raise IdempotencyKeyReused(f"the settle key of job {job.id}'s hold is taken")
    if status == "already_shown":
        return False
    invalidate_after_commit(user_id)
    log.info("hold_settled", hold_id=job.hold_id, user_id=user_id, charged_credits=charged,
             shortfall_credits=shortfall)
    return True


def _settle_postgres(job: Job) -> int | None:
    finished_at = utcnow()
    status, charged, user_id, shortfall = db.execute_sql(_SETTLE, (job.id, finished_at)).fetchone()
    if not _settled(status, job.id, job, user_id=user_id, charged=charged,
                    shortfall=shortfall):
        return None
    _show(job, charged, finished_at)
    return charged


def _show(job: Job, charged: int, finished_at: datetime) -> None:
    job.status, job.cost_credits, job.finished_at = job.outcome, charged, finished_at
    job.lease_expires_at = None


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


def finish_job(job_id: str, token: str, *, outcome: str, cost_credits: int,
               error: dict[str, str] | None,
               fields: dict[str, Any]) -> tuple[Job, int | None] | None:
    """Record the outcome (with `fields`, among FINISH_FIELDS) of a running job owned by `token`
    and `settle_job` it, all or nothing. The job as it ends and the credits charged (None if
    another settle showed it first); None if the job is not this run's to finish."""
    unknown = set(fields) - set(FINISH_FIELDS)
    if unknown:
        raise ValueError(f"not fields a run records with its outcome: {sorted(unknown)}")
    error_code, error_message = (error["code"], error["message"]) if error else (None, None)
    if is_postgres():
        return _finish_postgres(job_id, token, outcome=outcome, cost_credits=cost_credits,
                                error_code=error_code, error_message=error_message,
                                fields=fields)
    sets = "".join(f", {Job._meta.fields[name].column_name} = {db.param}" for name in fields)
    params = [outcome, cost_credits, error_code, error_message,
              *(Job._meta.fields[name].db_value(value) for name, value in fields.items()),
              job_id, token]
    with ledger.transaction():
        row = db.execute_sql(_RECORD_OUTCOME.format(p=db.param, sets=sets,
                                                    columns=column_list(Job)), params).fetchone()
        if row is None:
            return None
        job = model_from_row(Job, row)
        return job, settle_job(job)


# Ends a job no run has started (`end_unstarted`), where its `condition` holds.
_END_UNSTARTED = ("UPDATE jobs SET status = 'running', outcome = {p}, cost_credits = 0, "
                  "error_code = {p}, error_message = {p}, input_tokens = 0, output_tokens = 0, "
                  "worker_token = {p}, started_at = COALESCE(started_at, {p}) "
                  "WHERE id = {p} AND ({condition}) RETURNING {columns}")


def end_unstarted(job_id: str, token: str, *, outcome: str, error: dict[str, str] | None,
                  condition: str, params: tuple = ()) -> tuple[Job, int | None] | None:
    """End at no cost a job no run has started, if `condition` holds: SQL on its `jobs` row
    with `{p}` placeholders for `params` (e.g. it is still queued). Its outcome (owned by
    `token`) is recorded and its hold settled at zero in one transaction: no crash leaves it
    `running` with no lease, which nothing would ever finish. The job as it ends and the
    credits charged (None if another settle showed it first); None if `condition` did not
    hold."""
    error_code, error_message = (error["code"], error["message"]) if error else (None, None)
    sql = _END_UNSTARTED.format(p=db.param, condition=condition.format(p=db.param),
                                columns=column_list(Job))
    with ledger.transaction():
        row = db.execute_sql(sql, (outcome, error_code, error_message, token, utcnow(), job_id,
                                   *params)).fetchone()
        if row is None:
            return None
        job = model_from_row(Job, row)
        return job, settle_job(job)


def _finish_postgres(job_id: str, token: str, *, outcome: str, cost_credits: int,
                     error_code: str | None, error_message: str | None,
                     fields: dict[str, Any]) -> tuple[Job, int | None] | None:
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
                    shortfall=shortfall):
        return job, None
    return job, charged

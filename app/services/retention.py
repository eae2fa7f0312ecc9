"""Retention: usage records and job details do not grow forever; the ledger does.

For data older than the cut-off (midnight UTC, `days` days before `now`) a pass:

1. rolls usage records up into `usage_daily` (one row per user, UTC day, model and provider,
   added to with an upsert) and deletes them, a batch per transaction: the rows a batch deletes
   are the rows it adds (`DELETE … RETURNING`), so a pass that runs twice, or two passes at
   once, count each record exactly once (on PostgreSQL a record deleted by one pass is not
   returned to the other; on SQLite writers are serialised);
2. copies into their conversations the replies nobody has read since their job settled
   (`app.services.conversations.fill_replies_before`): a conversation keeps its messages in its
   own rows, and needs of its jobs only the usage and cost kept below;
3. strips finished jobs whose usage record is gone: `request_json` becomes `STUB_REQUEST_JSON`,
   `result_text` and `output_json` NULL. The rows stay: holds and ledger entries name their job
   in `reference`, and the job pages, refunds and statements still find it.

Queued and running jobs, ledger entries, holds, payments and conversations are never touched
(a conversation lives until its owner deletes it). Job event
streams need nothing here: they expire on their own (`app.events`). Usage reads add the daily
rows before the cut-off to the records after it (`app.services.usage_report`), so a pass changes
no total; the cut-off is a whole UTC day so no day is split between the two.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from peewee import EXCLUDED, SQL, Tuple, fn

from app.models.jobs import TERMINAL_STATUSES, Job, UsageDaily, UsageRecord
from app.services.conversations import fill_replies_before
from app.transactions import write_transaction

DEFAULT_BATCH_SIZE = 2_000
STUB_REQUEST_JSON = '{"retained": true}'
_UPSERT_CHUNK = 500  # rows per INSERT: 10 columns each stays under SQLite's variable limit
_TOTALS = ("jobs", "input_tokens", "output_tokens", "video_seconds", "cost_credits")


@dataclass(frozen=True)
class RetentionReport:
    cutoff: datetime | None  # None: retention is off (`days` = 0)
    usage_records_rolled_up: int = 0
    daily_rows_upserted: int = 0
    jobs_stripped: int = 0
    batches: int = 0
    conversation_replies_filled: int = 0


def cutoff_for(now: datetime, days: int) -> datetime | None:
    """Midnight UTC `days` days before `now` (naive UTC); None when `days` is 0 (keep)."""
    if days <= 0:
        return None
    return datetime.combine((now - timedelta(days=days)).date(), time())


def apply_retention(now: datetime, days: int, *,
                    batch_size: int = DEFAULT_BATCH_SIZE) -> RetentionReport:
    """One retention pass (see the module); idempotent, safe beside live traffic."""
    cutoff = cutoff_for(now, days)
    if cutoff is None:
        return RetentionReport(cutoff=None)
    rolled = upserted = stripped = batches = 0
    while True:
        records, rows = _roll_up_batch(cutoff, batch_size)
        batches += 1
        rolled, upserted = rolled + records, upserted + rows
        if records < batch_size:
            break
    filled = fill_replies_before(cutoff, batch_size=batch_size)
    after: tuple[datetime, str] | None = None
    while True:
        count, after = _strip_jobs_batch(cutoff, batch_size, after)
        batches += 1
        stripped += count
        if after is None:
            break
    return RetentionReport(cutoff=cutoff, usage_records_rolled_up=rolled,
                           daily_rows_upserted=upserted, jobs_stripped=stripped, batches=batches,
                           conversation_replies_filled=filled)


def _roll_up_batch(cutoff: datetime, batch_size: int) -> tuple[int, int]:
    """Delete up to `batch_size` records older than `cutoff` and add them to their daily rows,
    in one transaction; (records deleted, daily rows written)."""
    oldest = (UsageRecord.select(UsageRecord.id).where(UsageRecord.created_at < cutoff)
              .order_by(UsageRecord.created_at, UsageRecord.id).limit(batch_size))
    with write_transaction():
        deleted = list(UsageRecord.delete().where(UsageRecord.id.in_(oldest))
                       .returning(UsageRecord.user, UsageRecord.created_at, UsageRecord.model,
                                  UsageRecord.provider, UsageRecord.input_tokens,
                                  UsageRecord.output_tokens, UsageRecord.video_seconds,
                                  UsageRecord.cost_credits).tuples().execute())
        daily = _by_day(deleted)
        _upsert(daily)
    return len(deleted), len(daily)


def _day(created_at: datetime | str) -> date:
    if isinstance(created_at, str):  # SQLite hands back RETURNING values unconverted
        return date.fromisoformat(created_at[:10])
    return created_at.date()


def _by_day(records: Iterable[tuple]) -> list[dict]:
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(_TOTALS))
    for user_id, created_at, model, provider, tokens_in, tokens_out, seconds, cost in records:
        total = sums[(user_id, _day(created_at), model, provider or "")]
        for i, value in enumerate((1, tokens_in, tokens_out, seconds, cost)):
            total[i] += int(value or 0)
    return [{"user": user_id, "day": day, "model": model, "provider": provider,
             **dict(zip(_TOTALS, values, strict=True))}
            for (user_id, day, model, provider), values in sums.items()]


def _upsert(rows: list[dict]) -> None:
    """Add `rows` to the daily rows of their key (a new row where there is none)."""
    update = {getattr(UsageDaily, name): getattr(UsageDaily, name) + getattr(EXCLUDED, name)
              for name in _TOTALS}
    key = [UsageDaily.user, UsageDaily.day, UsageDaily.model, UsageDaily.provider]
    for start in range(0, len(rows), _UPSERT_CHUNK):
        (UsageDaily.insert_many(rows[start:start + _UPSERT_CHUNK])
         .on_conflict(conflict_target=key, update=update).execute())


def _strip_jobs_batch(cutoff: datetime, batch_size: int, after: tuple[datetime, str] | None
                      ) -> tuple[int, tuple[datetime, str] | None]:
    """Strip the finished jobs, among the next `batch_size` created before `cutoff` (keyset
    order from `after`), whose usage record is gone; (jobs stripped, where the next batch
    starts, or None when there is none)."""
    window = Job.select(Job.id, Job.created_at).where(Job.created_at < cutoff)
    if after is not None:
        window = window.where(Tuple(Job.created_at, Job.id) > Tuple(*after))
    keys = list(window.order_by(Job.created_at, Job.id).limit(batch_size).tuples())
    if not keys:
        return 0, None
    has_record = UsageRecord.select(SQL("1")).where(UsageRecord.job == Job.id)
    bulky = ((Job.request_json != STUB_REQUEST_JSON) | Job.result_text.is_null(False)
             | Job.output_json.is_null(False))
    with write_transaction():
        stripped = (Job.update(request_json=STUB_REQUEST_JSON, result_text=None, output_json=None)
                    .where(Job.id.in_([job_id for job_id, _ in keys])
                           & Job.status.in_(TERMINAL_STATUSES) & bulky & ~fn.EXISTS(has_record))
                    .execute())
    last_id, last_created = keys[-1]
    return stripped, ((last_created, last_id) if len(keys) == batch_size else None)

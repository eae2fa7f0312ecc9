"""Credits spent, from the usage of settled jobs: `usage_records` (one per settled job) plus
`usage_daily` (the records a retention pass rolled up), so a pass changes no figure.

A usage record's `cost_credits` is what its job's settle took from the ledger (one `usage`
entry each, in the same statement), so these totals are the ledger's usage charges, by model,
provider or time. The queries are index-only scans of migration 019's covering indexes:
`usage_records (created_at)` for the whole hub, `(user_id, created_at)` for one account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import SQL, fn

from app.models.jobs import UsageDaily, UsageRecord
from app.services.kpis.periods import Period, bucket_start


@dataclass(frozen=True)
class SpendTotals:
    key: str  # a model id or a provider ("" where none was recorded)
    requests: int
    cost_credits: int
    input_tokens: int = 0  # filled for one account's totals only
    output_tokens: int = 0
    video_seconds: int = 0


_KEYS = {"model": (UsageRecord.model, UsageDaily.model),
         "provider": (UsageRecord.provider, UsageDaily.provider)}
_TOKENS = ("input_tokens", "output_tokens", "video_seconds")


def spend_by(key: str, period: Period, *, user_id: int | None = None) -> list[SpendTotals]:
    """Requests and credits per model or provider (`key`), most credits first; one account's
    (with its tokens and video seconds) when `user_id` is given, else the whole hub's."""
    record_key, daily_key = _KEYS[key]
    tokens = user_id is not None
    records = (UsageRecord.select(fn.COALESCE(record_key, "").alias("key"),
                                  fn.COUNT(SQL("*")), fn.SUM(UsageRecord.cost_credits),
                                  *(_sums(UsageRecord) if tokens else ()))
               .where(UsageRecord.created_at >= period.since))
    daily = (UsageDaily.select(daily_key.alias("key"), fn.SUM(UsageDaily.jobs),
                               fn.SUM(UsageDaily.cost_credits),
                               *(_sums(UsageDaily) if tokens else ()))
             .where(UsageDaily.day >= period.first_day))
    if user_id is not None:
        records = records.where(UsageRecord.user == user_id)
        daily = daily.where(UsageDaily.user == user_id)
    sums: dict[str, list[int]] = {}
    for query in (records, daily):
        for row_key, *values in query.group_by(SQL("1")).tuples():
            total = sums.setdefault(str(row_key), [0] * (2 + len(_TOKENS)))
            for i, value in enumerate(values):
                total[i] += int(value or 0)
    totals = [SpendTotals(key, *values) for key, values in sums.items()]
    return sorted(totals, key=lambda row: (-row.cost_credits, -row.requests, row.key))


def _sums(model: Any) -> tuple:
    return tuple(fn.SUM(getattr(model, name)) for name in _TOKENS)


def spend_per_bucket(period: Period) -> list[tuple[datetime, int]]:
    """The whole hub's credits spent per bucket of `period`, oldest first, empty ones
    included."""
    bucket = fn.date_trunc(period.bucket, UsageRecord.created_at)
    spent = {start: 0 for start in period.starts}
    rows = (UsageRecord.select(bucket, fn.SUM(UsageRecord.cost_credits))
            .where(UsageRecord.created_at >= period.since).group_by(bucket).tuples())
    daily = (UsageDaily.select(UsageDaily.day, fn.SUM(UsageDaily.cost_credits))
             .where(UsageDaily.day >= period.first_day).group_by(UsageDaily.day).tuples())
    for start, total in (*rows, *daily):
        key = bucket_start(start, period.bucket)
        if key in spent:
            spent[key] += int(total or 0)
    return list(spent.items())


def active_users(period: Period) -> int:
    """Accounts with at least one settled job in `period`."""
    records = (UsageRecord.select(UsageRecord.user)
               .where(UsageRecord.created_at >= period.since))
    daily = UsageDaily.select(UsageDaily.user).where(UsageDaily.day >= period.first_day)
    return (records | daily).count()  # UNION: each account once

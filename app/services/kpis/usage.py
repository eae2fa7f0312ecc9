"""Credits spent, from the usage of settled jobs: `usage_records` (one per settled job) plus
`usage_daily` (the records a retention pass rolled up), so a pass changes no figure.

A usage record's `cost_credits` is what its job's settle took from the ledger (one `usage`
entry each, in the same statement), so these totals are the ledger's usage charges, by model,
provider or time. Per model, per provider and per bucket come from one pass over each table
(grouped by all three, then added up here: a few hundred groups), each an index-only scan of
migration 019's covering indexes: `usage_records (created_at)` for the whole hub,
`(user_id, created_at)` for one account. The grouping is written exactly as migration 019's
extended statistics are (`model, provider, date_trunc(…, created_at)`): they tell PostgreSQL
there are few groups, so it hashes them in memory instead of sorting every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import SQL, fn

from app.models.jobs import UsageDaily, UsageRecord
from app.services.kpis.periods import Period, bucket_start


@dataclass(frozen=True)
class SpendTotals:
    key: str  # a model id or a provider ("" where none was recorded)
    requests: int
    cost_credits: int
    input_tokens: int
    output_tokens: int
    video_seconds: int


@dataclass(frozen=True)
class UsageTotals:
    by_model: list[SpendTotals]  # most credits first
    by_provider: list[SpendTotals]  # most credits first
    per_bucket: list[tuple[datetime, int]]  # credits per bucket, oldest first, empty ones too

    @property
    def cost_credits(self) -> int:
        return sum(row.cost_credits for row in self.by_model)


_SUMS = ("cost_credits", "input_tokens", "output_tokens", "video_seconds")


def usage_totals(period: Period, *, user_id: int | None = None) -> UsageTotals:
    """What was spent in `period`: the whole hub's, or one account's with `user_id`."""
    records = (UsageRecord
               .select(UsageRecord.model, UsageRecord.provider,
                       fn.date_trunc(period.bucket, UsageRecord.created_at), fn.COUNT(SQL("*")),
                       *(fn.SUM(getattr(UsageRecord, name)) for name in _SUMS))
               .where(UsageRecord.created_at >= period.since))
    daily = (UsageDaily
             .select(UsageDaily.model, UsageDaily.provider, UsageDaily.day,
                     fn.SUM(UsageDaily.jobs), *(fn.SUM(getattr(UsageDaily, name))
                                                for name in _SUMS))
             .where(UsageDaily.day >= period.first_day))
    if user_id is not None:
        records = records.where(UsageRecord.user == user_id)
        daily = daily.where(UsageDaily.user == user_id)
    by_model: dict[str, list[int]] = {}
    by_provider: dict[str, list[int]] = {}
    per_bucket = dict.fromkeys(period.starts, 0)
    for query in (records, daily):
        for model, provider, start, *values in query.group_by(SQL("1, 2, 3")).tuples():
            values = [int(value or 0) for value in values]
            for totals, key in ((by_model, model), (by_provider, provider or "")):
                row = totals.setdefault(key, [0] * len(values))
                for i, value in enumerate(values):
                    row[i] += value
            bucket = bucket_start(start, period.bucket)
            if bucket in per_bucket:
                per_bucket[bucket] += values[1]
    return UsageTotals(by_model=_ranked(by_model), by_provider=_ranked(by_provider),
                       per_bucket=list(per_bucket.items()))


def _ranked(totals: dict[str, list[int]]) -> list[SpendTotals]:
    rows = [SpendTotals(key, *values) for key, values in totals.items()]
    return sorted(rows, key=lambda row: (-row.cost_credits, -row.requests, row.key))


def active_users(period: Period) -> int:
    """Accounts with at least one settled job in `period`."""
    records = (UsageRecord.select(UsageRecord.user)
               .where(UsageRecord.created_at >= period.since))
    daily = UsageDaily.select(UsageDaily.user).where(UsageDaily.day >= period.first_day)
    return (records | daily).count()  # UNION: each account once

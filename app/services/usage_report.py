"""Usage totals for operators: requests, tokens, video seconds and credits charged, per model
and per day (UTC), over the last N days (whole UTC days, today's so far included). Read from
`usage_records` (one row per settled job) plus, for the days before the retention cut-off,
`usage_daily` (the same records rolled up by `app.services.retention`), so a retention pass
changes no total."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from peewee import fn

from app.models.base import utcnow
from app.models.jobs import UsageDaily, UsageRecord

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class UsageTotals:
    key: str  # the model id, or the day as YYYY-MM-DD
    requests: int
    input_tokens: int
    output_tokens: int
    video_seconds: int
    cost_credits: int


@dataclass(frozen=True)
class UsageSummary:
    days: int
    by_model: list[UsageTotals]
    by_day: list[UsageTotals]
    total: UsageTotals


def usage_summary(days: int = DEFAULT_DAYS) -> UsageSummary:
    """Totals since midnight UTC `days` days ago: by model (most credits first), by day (newest
    first)."""
    since = datetime.combine((utcnow() - timedelta(days=days)).date(), time())
    by_model = _combined(_grouped(UsageRecord.model, since),
                         _grouped_daily(UsageDaily.model, since))
    by_day = _combined(_grouped(fn.date(UsageRecord.created_at).coerce(False), since),
                       _grouped_daily(UsageDaily.day, since))
    by_model.sort(key=lambda row: (-row.cost_credits, row.key))
    by_day.sort(key=lambda row: row.key, reverse=True)
    total = UsageTotals("total", *(sum(getattr(row, name) for row in by_model) for name in
                                   _FIELDS))
    return UsageSummary(days=days, by_model=by_model, by_day=by_day, total=total)


_FIELDS = ("requests", "input_tokens", "output_tokens", "video_seconds", "cost_credits")


def _combined(*parts: list[UsageTotals]) -> list[UsageTotals]:
    """The rows of `parts` with one key added together."""
    sums: dict[str, list[int]] = {}
    for row in (row for part in parts for row in part):
        total = sums.setdefault(row.key, [0] * len(_FIELDS))
        for i, name in enumerate(_FIELDS):
            total[i] += getattr(row, name)
    return [UsageTotals(key, *values) for key, values in sums.items()]


def _grouped(key: Any, since: datetime) -> list[UsageTotals]:
    rows = (UsageRecord
            .select(key.alias("key"), fn.COUNT(UsageRecord.id),
                    fn.COALESCE(fn.SUM(UsageRecord.input_tokens), 0),
                    fn.COALESCE(fn.SUM(UsageRecord.output_tokens), 0),
                    fn.COALESCE(fn.SUM(UsageRecord.video_seconds), 0),
                    fn.COALESCE(fn.SUM(UsageRecord.cost_credits), 0))
            .where(UsageRecord.created_at >= since)
            .group_by(key).tuples())
    return [UsageTotals(str(k), *(int(v) for v in values)) for k, *values in rows]


def _grouped_daily(key: Any, since: datetime) -> list[UsageTotals]:
    rows = (UsageDaily
            .select(key.alias("key"), *(fn.COALESCE(fn.SUM(getattr(UsageDaily, name)), 0)
                                        for name in ("jobs", "input_tokens", "output_tokens",
                                                     "video_seconds", "cost_credits")))
            .where(UsageDaily.day >= since.date())
            .group_by(key).tuples())
    return [UsageTotals(str(k), *(int(v) for v in values)) for k, *values in rows]

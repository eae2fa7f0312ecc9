"""Usage totals for operators: requests, tokens, video seconds and credits charged, per model
and per day (UTC), over the last N days (whole UTC days, today's so far included). Read from
`usage_records` (one row per settled job) plus, for the days before the retention cut-off,
`usage_daily` (the same records rolled up by `app.services.retention`), so a retention pass
changes no total.

Each table is read once, grouped by model and day; the by-model and by-day totals are summed
from those groups. `usage_daily` is read only when its newest day falls in the window: with
`HUB_RETENTION_DAYS` at least 31 a 30-day window never does, and the probe (the index's last
entry) costs the same whatever the table holds, where a range read of a freshly rolled-up,
not yet analysed table was planned as a scan of all of it
(docs/benchmarks/2026-12-04-retention-2m.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

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
    groups = _record_groups(since)
    if _has_daily_rows_since(since.date()):
        groups += _daily_groups(since.date())
    by_model = _combined((model, values) for model, _, values in groups)
    by_day = _combined((day, values) for _, day, values in groups)
    by_model.sort(key=lambda row: (-row.cost_credits, row.key))
    by_day.sort(key=lambda row: row.key, reverse=True)
    total = UsageTotals("total", *(sum(getattr(row, name) for row in by_model) for name in
                                   _FIELDS))
    return UsageSummary(days=days, by_model=by_model, by_day=by_day, total=total)


_FIELDS = ("requests", "input_tokens", "output_tokens", "video_seconds", "cost_credits")
_Group = tuple[str, str, tuple[int, ...]]  # (model, day as YYYY-MM-DD, totals in _FIELDS order)


def _combined(rows: Iterable[tuple[str, tuple[int, ...]]]) -> list[UsageTotals]:
    """The totals of `rows` with one key added together."""
    sums: dict[str, list[int]] = {}
    for key, values in rows:
        total = sums.setdefault(key, [0] * len(_FIELDS))
        for i, value in enumerate(values):
            total[i] += value
    return [UsageTotals(key, *values) for key, values in sums.items()]


def _record_groups(since: datetime) -> list[_Group]:
    day = fn.date(UsageRecord.created_at).coerce(False)
    rows = (UsageRecord
            .select(UsageRecord.model, day, fn.COUNT(UsageRecord.id),
                    *(fn.COALESCE(fn.SUM(getattr(UsageRecord, name)), 0)
                      for name in _FIELDS[1:]))
            .where(UsageRecord.created_at >= since)
            .group_by(UsageRecord.model, day).tuples())
    return [(model, str(day), tuple(int(v) for v in values)) for model, day, *values in rows]


def _has_daily_rows_since(since: date) -> bool:
    newest = UsageDaily.select(fn.MAX(UsageDaily.day).coerce(False)).scalar()
    return newest is not None and str(newest)[:10] >= since.isoformat()


def _daily_groups(since: date) -> list[_Group]:
    rows = (UsageDaily
            .select(UsageDaily.model, UsageDaily.day,
                    *(fn.COALESCE(fn.SUM(getattr(UsageDaily, name)), 0)
                      for name in ("jobs", *_FIELDS[1:])))
            .where(UsageDaily.day >= since)
            .group_by(UsageDaily.model, UsageDaily.day).tuples())
    return [(model, str(day)[:10], tuple(int(v) for v in values))
            for model, day, *values in rows]

"""Usage totals for operators: requests, tokens, video seconds and credits charged, per model
and per day (UTC), over the last N days. Read from `usage_records` (one row per settled job)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from peewee import fn

from app.models.base import utcnow
from app.models.jobs import UsageRecord

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
    """Totals since `days` days ago: by model (most credits first), by day (newest first)."""
    since = utcnow() - timedelta(days=days)
    day = fn.date(UsageRecord.created_at)
    by_model = _grouped(UsageRecord.model, since)
    by_day = _grouped(day, since)
    by_model.sort(key=lambda row: (-row.cost_credits, row.key))
    by_day.sort(key=lambda row: row.key, reverse=True)
    total = UsageTotals("total", *(sum(getattr(row, name) for row in by_model) for name in
                                   ("requests", "input_tokens", "output_tokens",
                                    "video_seconds", "cost_credits")))
    return UsageSummary(days=days, by_model=by_model, by_day=by_day, total=total)


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

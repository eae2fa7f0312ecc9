"""Figures for the back-office home and the dashboard, as plain values.

Each figure comes from the table that owns it, over a period (`periods`): money in from the
ledger and payments (`sales`), credits spent from settled jobs' usage, rolled-up days included
(`usage`), jobs by status and provider outcomes from `jobs` (`jobs`), and the state of things
now from the breakers, the broker and the reconciliation reports (`health`). The queries behind
them are benchmarked at millions of rows: docs/benchmarks/README.md (`scripts.bench.kpis`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.services.kpis.health import (
    BreakerState,
    ReconciliationStatus,
    breaker_states,
    reconciliation_status,
)
from app.services.kpis.jobs import JobCounts, job_counts
from app.services.kpis.periods import DEFAULT_DAYS, PERIOD_DAYS, Period, period
from app.services.kpis.queue_depth import QueueDepth, QueueDepthUnavailable, queue_depths
from app.services.kpis.sales import Sales, sales
from app.services.kpis.usage import SpendTotals, active_users, usage_totals
from app.services.periodic_jobs import PeriodicJobState

__all__ = ["DEFAULT_DAYS", "PERIOD_DAYS", "Overview", "Period", "overview", "period"]


@dataclass(frozen=True)
class Overview:
    period: Period
    sales: Sales
    spent_per_bucket: list[tuple[datetime, int]]
    by_model: list[SpendTotals]
    by_provider: list[SpendTotals]
    active_users: int
    jobs: JobCounts
    breakers: list[BreakerState]
    queues: list[QueueDepth] | None  # None: the broker did not answer (`queue_error` says why)
    queue_error: str
    reconciliation: ReconciliationStatus

    @property
    def credits_spent(self) -> int:
        return sum(row.cost_credits for row in self.by_model)

    @property
    def messages_waiting(self) -> int | None:
        return None if self.queues is None else sum(q.ready + q.delayed for q in self.queues)


def overview(days: int, *, reconcile_job: PeriodicJobState | None = None,
             now: datetime | None = None) -> Overview:
    """Every back-office figure over the period of `days` (1, 7 or 30); `reconcile_job` is the
    scheduled reconciliation's state, shown with the last run."""
    span = period(days, now)
    try:
        queues, queue_error = queue_depths(), ""
    except QueueDepthUnavailable as exc:
        queues, queue_error = None, exc.message
    usage = usage_totals(span)
    return Overview(period=span, sales=sales(span), spent_per_bucket=usage.per_bucket,
                    by_model=usage.by_model, by_provider=usage.by_provider,
                    active_users=active_users(span), jobs=job_counts(span),
                    breakers=breaker_states(), queues=queues, queue_error=queue_error,
                    reconciliation=reconciliation_status(reconcile_job))

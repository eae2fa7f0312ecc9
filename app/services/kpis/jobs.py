"""Jobs by status and each provider's error rate, from `jobs` (never rolled up: a retention
pass strips old jobs' bodies but keeps their rows). An index-only scan of migration 019's
`jobs (created_at) INCLUDE (status, provider)`.

A provider's error rate is its failed jobs over its finished ones (succeeded + failed) among
the jobs created in the period; canceled jobs count for neither. What the hub records is one
provider per job (the one that served it or last failed it), so a request that failed over to
another provider counts for the one that answered. Jobs that failed before any provider was
tried (no channel for the model, say) are under the provider "". A provider whose jobs of the
period are all still queued or running is not listed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from peewee import SQL, fn

from app.models.jobs import ACTIVE_STATUSES, TERMINAL_STATUSES, Job
from app.services.kpis.periods import Period

STATUSES = (*ACTIVE_STATUSES, *TERMINAL_STATUSES)


@dataclass(frozen=True)
class ProviderOutcomes:
    provider: str
    succeeded: int
    failed: int
    canceled: int

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed

    @property
    def error_rate(self) -> float | None:
        """Failed over finished, or None with nothing finished."""
        return self.failed / self.finished if self.finished else None


@dataclass(frozen=True)
class JobCounts:
    by_status: dict[str, int]  # every status, in STATUSES order
    by_provider: list[ProviderOutcomes]  # those with an ended job, most finished first

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def error_rate(self) -> float | None:
        finished = self.by_status["succeeded"] + self.by_status["failed"]
        return self.by_status["failed"] / finished if finished else None


def job_counts(period: Period) -> JobCounts:
    rows = (Job.select(fn.COALESCE(Job.provider, ""), Job.status, fn.COUNT(SQL("*")))
            .where(Job.created_at >= period.since).group_by(SQL("1"), SQL("2")).tuples())
    by_status: Counter[str] = Counter()
    by_provider: dict[str, Counter[str]] = {}
    for provider, status, count in rows:
        by_status[status] += count
        by_provider.setdefault(provider, Counter())[status] += count
    outcomes = [ProviderOutcomes(provider, counts["succeeded"], counts["failed"],
                                 counts["canceled"])
                for provider, counts in by_provider.items()
                if any(counts[status] for status in TERMINAL_STATUSES)]
    outcomes.sort(key=lambda row: (-row.finished, row.provider))
    return JobCounts(by_status={status: by_status[status] for status in STATUSES},
                     by_provider=outcomes)

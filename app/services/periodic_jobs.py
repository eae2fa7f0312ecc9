"""When each periodic job last ran, and which ones are overdue.

The scheduler records each enqueue, and the worker each run that finished without raising
(`app.scheduler`). A job is **overdue** when it has not finished a run for twice its interval:
the scheduler is missing, no worker consumes its queue, or every run fails.

A job that never ran counts from when the hub first knew of it (`registered_at`: the first
scheduler start, enqueue, run or status read that found no row), so a fresh deployment is not
overdue before twice the job's interval has passed since then, and a restart of any process
does not start that count again.

Jobs are given as a mapping of actor name → interval in seconds (`app.scheduler.PERIODIC_JOBS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.models.base import utcnow
from app.models.periodic import PeriodicJobRun

OVERDUE_AFTER_INTERVALS = 2


@dataclass(frozen=True)
class PeriodicJobState:
    job: str
    interval_s: int
    registered_at: datetime
    last_enqueued_at: datetime | None
    last_run_at: datetime | None
    now: datetime

    @property
    def due_by(self) -> datetime:
        """The latest a run may finish before the job is overdue."""
        since = self.last_run_at or self.registered_at
        return since + timedelta(seconds=OVERDUE_AFTER_INTERVALS * self.interval_s)

    @property
    def overdue(self) -> bool:
        return self.now > self.due_by

    @property
    def status(self) -> str:
        """`ok`, `overdue`, or `waiting` (never ran, not overdue yet)."""
        if self.overdue:
            return "overdue"
        return "ok" if self.last_run_at is not None else "waiting"

    def describe(self) -> str:
        """One line for an operator, e.g. `x.y (last run 95 s ago, last enqueued 95 s ago, every
        15 s)`: enqueued but not run points at the workers, neither at the scheduler."""
        if self.last_run_at is None:
            ran = f"never ran, known for {_ago(self.now, self.registered_at)}"
        else:
            ran = f"last run {_ago(self.now, self.last_run_at)} ago"
        if self.last_enqueued_at is None:
            sent = "never enqueued"
        else:
            sent = f"last enqueued {_ago(self.now, self.last_enqueued_at)} ago"
        return f"{self.job} ({ran}, {sent}, every {self.interval_s} s)"


def _ago(now: datetime, then: datetime) -> str:
    return f"{max(int((now - then).total_seconds()), 0)} s"


def register_jobs(jobs: Iterable[str], *, at: datetime | None = None) -> None:
    """Note the jobs the hub knows of (a row each); rows already there are left as they are."""
    at = at or utcnow()
    rows = [{"job": job, "registered_at": at} for job in jobs]
    if rows:
        PeriodicJobRun.insert_many(rows).on_conflict_ignore().execute()


def record_enqueued(job: str, *, at: datetime | None = None) -> None:
    _record(job, PeriodicJobRun.last_enqueued_at, at or utcnow())


def record_run(job: str, *, at: datetime | None = None) -> None:
    """A run of `job` finished without raising at `at` (now by default)."""
    _record(job, PeriodicJobRun.last_run_at, at or utcnow())


def _record(job: str, field, at: datetime) -> None:
    (PeriodicJobRun.insert(job=job, registered_at=at, **{field.name: at})
     .on_conflict(conflict_target=[PeriodicJobRun.job], update={field: at}).execute())


def job_states(jobs: Mapping[str, int], *, now: datetime | None = None) -> list[PeriodicJobState]:
    """Each job's state, by name; a job without a row is registered now."""
    now = now or utcnow()
    rows = {row.job: row for row in PeriodicJobRun.select()
            .where(PeriodicJobRun.job.in_(list(jobs)))}
    missing = [job for job in jobs if job not in rows]
    if missing:
        register_jobs(missing, at=now)
        rows.update({row.job: row for row in PeriodicJobRun.select()
                     .where(PeriodicJobRun.job.in_(missing))})
    return [PeriodicJobState(job=job, interval_s=interval_s,
                             registered_at=rows[job].registered_at,
                             last_enqueued_at=rows[job].last_enqueued_at,
                             last_run_at=rows[job].last_run_at, now=now)
            for job, interval_s in sorted(jobs.items())]


def overdue_jobs(jobs: Mapping[str, int], *, now: datetime | None = None) -> list[PeriodicJobState]:
    return [state for state in job_states(jobs, now=now) if state.overdue]


def next_runs(jobs: Mapping[str, int], *, now: datetime | None = None) -> dict[str, datetime]:
    """When a scheduler that starts now should first enqueue each job: one interval after its
    last enqueue, or now if that is past or it was never enqueued. A scheduler that restarts
    more often than a job's interval then neither starves the job nor enqueues it twice."""
    now = now or utcnow()
    return {state.job: max(now, state.last_enqueued_at + timedelta(seconds=state.interval_s))
            if state.last_enqueued_at else now
            for state in job_states(jobs, now=now)}

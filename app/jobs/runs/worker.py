"""A Dramatiq worker's run: claimed from the job's message, its events are its only output.

Its delivery policy (`WorkerDelivery`): announce `running` before asking the provider, read the
whole stream through the pump, record the first delivery in the job's row before the event is
visible (so a dead run is never retried after it, and a run that lost the job to another never
shows its text), and append every delivery to the event stream before going on (the stream is
how it delivers). A worker's run is limited by Dramatiq's time limit, not a deadline of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Any

import structlog
from dramatiq.middleware import TimeLimitExceeded

from app.chat.events import OutputDelta, billable_text
from app.events import Event
from app.extensions import db
from app.jobs.runs.base import RUNNING, Run, sql, stream_events
from app.jobs.runs.chat import execute_chat
from app.jobs.runs.ending import end_unstarted
from app.models.base import utcnow
from app.models.hot_sql import model_from_row
from app.models.jobs import Job
from app.services.ledger.cache import CommandWriter
from app.services.runtime import current_events, current_settings

log = structlog.get_logger(__name__)

HOLD_RELEASED_ERROR = {"code": "hold_released",
                       "message": "the credits reserved for this job were released before it "
                                  "started; it did not run and nothing was charged"}

# A job a run may take: queued, or running under an expired lease with nothing delivered.
_CLAIMABLE = ("(status = 'queued' OR (status = 'running' AND lease_expires_at < {p} "
              "AND delivered_chars = 0 AND outcome IS NULL))")
# Its credits are still reserved: a job runs only while its hold is active.
_HOLD_ACTIVE = ("EXISTS (SELECT 1 FROM credit_holds h WHERE h.id = jobs.hold_id "
                "AND h.status = 'active')")
_CLAIM = ("UPDATE jobs SET status = 'running', worker_token = {p}, "  # noqa: S608  # nosec B608  # constants; values are bound parameters
          "lease_expires_at = {p}, started_at = COALESCE(started_at, {p}), attempts = attempts + 1 "
          "WHERE id = {p} AND " + _CLAIMABLE + " AND " + _HOLD_ACTIVE + " RETURNING {columns}")
_FIRST_DELIVERY = ("UPDATE jobs SET delivered_chars = {p}, first_token_at = {p}, provider = {p}, "
                   "channel = {p} WHERE id = {p} AND worker_token = {p}")


class WorkerDelivery:
    """Mirrors every batch to the job's event stream, at once and confirmed."""

    def start(self, run: Run) -> None:
        current_events().append(run.job.id, "status", RUNNING)
        run.running_announced = True

    def head(self, run: Run, stream: Iterator[Any]) -> list[Any]:
        return []  # the whole stream comes through the pump

    def deliver(self, run: Run, text: str) -> Event | None:
        if not self._owns_first_delivery(run, len(text)):
            return None
        return self._append(run, run.record_delivery(text))

    def deliver_piece(self, run: Run, piece: OutputDelta) -> Event | None:
        if not self._owns_first_delivery(run, max(1, len(billable_text(piece)))):
            return None
        return self._append(run, run.record_piece(piece))

    def _owns_first_delivery(self, run: Run, chars: int) -> bool:
        """Before the first delivery: record it, if the run still owns the job."""
        if run.delivered_chars == 0:
            run.first_token_at = utcnow()
            owned = db.execute_sql(sql(_FIRST_DELIVERY), (
                chars, run.first_token_at, run.provider.get("name"),
                run.provider.get("channel"), run.job.id, run.token)).rowcount
            if not owned:
                run.lost = True
                return False
        return True

    def _append(self, run: Run, data: dict[str, Any]) -> Event:
        events = stream_events(run, [("delta", data)])
        if len(events) == 1:  # one command (a script), not a pipeline: this runs for every delta
            return Event(current_events().append(run.job.id, *events[0]), "delta", data)
        return Event(current_events().append_many(run.job.id, events)[-1], "delta", data)

    def turn(self, run: Run) -> AbstractContextManager[Any]:
        return nullcontext()

    def catch_up(self, run: Run) -> list[tuple[str, dict]]:
        return []  # every delivery is on the stream already

    def confirm(self, run: Run, *, quiet: bool = False) -> None:
        return None  # nothing is sent without waiting

    def after_write(self) -> None:
        return None  # a worker keeps its connection for the whole message

    def writer(self) -> CommandWriter | None:
        return None


def claim(job_id: str) -> Run | None:
    """Take the job if it is queued (or running under an expired lease with nothing delivered)
    and its hold is active. One whose hold is gone (released) never runs: it fails at no cost."""
    settings = current_settings()
    now, token = utcnow(), uuid.uuid4().hex
    row = db.execute_sql(sql(_CLAIM), (token, now + timedelta(seconds=settings.HUB_JOB_LEASE_S),
                                       now, job_id, now)).fetchone()
    if row is None:
        if end_unstarted(job_id, token, outcome="failed", error=HOLD_RELEASED_ERROR,
                         condition=f"{_CLAIMABLE} AND NOT {_HOLD_ACTIVE}", params=(now,)):
            log.warning("job_failed_without_hold", job_id=job_id)
        else:
            log.info("job_claim_skipped", job_id=job_id)
        return None
    return Run(job=model_from_row(Job, row), token=token, lease_s=settings.HUB_JOB_LEASE_S,
               delivery=WorkerDelivery())


def run_chat_job(job_id: str) -> None:
    """A worker's run: claim the job, then run it to its end (its events are its only output)."""
    run = claim(job_id)
    if run is None:
        return
    steps = execute_chat(run)
    try:
        for _ in steps:
            pass
    except TimeLimitExceeded:  # struck between two steps, outside the generator
        run.time_limit_hit = True
        steps.close()

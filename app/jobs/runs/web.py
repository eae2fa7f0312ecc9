"""The web process's run of a `/v1` chat job, for the caller it serves (`executor="web"`).

The job is created already claimed by this thread (`adopt`), so there is no broker hop and no
relay read: each delta goes straight to the response. Its delivery policy (`WebDelivery`), each
part a round trip fewer before the caller's first token (design notes: docs/decisions/,
figures: docs/benchmarks/):
- the provider's stream is read on the request thread up to its first delta, the lease renewed
  meanwhile by the process's lease keeper: no hand-off between threads before the first token;
- `running` is announced with the first delta (the caller waits on the response, not on the
  events), and the first delivery is recorded with the outcome (a web run is never retried);
- the event stream is a mirror for other watchers: appended at most every
  HUB_COMPAT_MIRROR_MS (and at the end), sent without waiting for the answer, which is read
  before the next write to the stream. The text is on its way to the stream (written to
  Redis's socket) before the caller has it;
- the pooled database connection is given back after each write (the run streams for long);
- a streamed run's work after its first delivery takes the process's turn (`tail_lane`), so new
  requests' first tokens go first; a caller waiting for the whole reply never waits for one;
- the ledger cache's bumps made before the response starts go through the request's pending
  writes (`app.jobs.request_scope`), confirmed before the response leaves.
No Dramatiq time limit watches a web thread: the run has a deadline (HUB_CHAT_TIME_LIMIT_S).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog

from app.chat.events import OUTPUT_DELTAS, OutputDelta
from app.events import Event
from app.events.base import SentEvents
from app.extensions import db
from app.jobs.lease_keeper import current_lease_keeper
from app.jobs.request_scope import RequestScope
from app.jobs.runs.base import Run, stream_events
from app.jobs.runs.tail_lane import current_tail_lane
from app.models.base import utcnow
from app.models.jobs import Job
from app.services.ledger.cache import CommandWriter
from app.services.runtime import current_events, current_settings

log = structlog.get_logger(__name__)


@dataclass
class WebDelivery:
    """Delivers to the caller directly; the event stream is a mirror, sent without waiting."""

    takes_turns: bool = False  # a streamed run: its work after its first token takes turns
    # How often delivered text is appended to the job's event stream (at most; and at the end).
    mirror_interval_s: float = 0.0
    scope: RequestScope | None = None  # the request the run serves
    mirror_pending: list[str] = field(default_factory=list)
    mirror_in_flight: SentEvents | None = None  # the last mirror, sent, not confirmed
    _last_mirrored_at: float = 0.0

    def start(self, run: Run) -> None:
        return None  # `running` goes with the first delta

    def head(self, run: Run, stream: Iterator[Any]) -> list[Any]:
        head: list[Any] = []
        with current_lease_keeper().watching(run):
            for item in stream:
                head.append(item)
                if isinstance(item, OUTPUT_DELTAS):
                    break
        return head

    def deliver(self, run: Run, text: str) -> Event | None:
        first = run.delivered_chars == 0
        if first:
            run.first_token_at = utcnow()
        data = run.record_delivery(text)
        now = time.monotonic()
        if not first and now - self._last_mirrored_at < self.mirror_interval_s:
            self.mirror_pending.append(text)  # mirrored with a later delivery, or at the end
            return Event("", "delta", data)
        self._last_mirrored_at = now
        mirrored = {**data, "text": "".join([*self.mirror_pending, text])}
        self.mirror_pending.clear()
        events = stream_events(run, [("delta", mirrored)])
        self.confirm(run)  # its caller reads the text from this event, not from the stream
        self.mirror_in_flight = current_events().send_many(run.job.id, events)
        return Event("", "delta", data)

    def deliver_piece(self, run: Run, piece: OutputDelta) -> Event | None:
        """Mirrored at once, after the text still pending: the stream keeps the order."""
        if run.delivered_chars == 0:
            run.first_token_at = utcnow()
        data = run.record_piece(piece)
        self._last_mirrored_at = time.monotonic()
        pending = [("delta", {"text": "".join(self.mirror_pending)})] if self.mirror_pending \
            else []
        self.mirror_pending.clear()
        events = stream_events(run, [*pending, ("delta", data)])
        self.confirm(run)
        self.mirror_in_flight = current_events().send_many(run.job.id, events)
        return Event("", "delta", data)

    def turn(self, run: Run) -> AbstractContextManager[Any]:
        return self._later_turn(run)

    @contextmanager
    def _later_turn(self, run: Run) -> Iterator[None]:
        """Its first token, and a run whose caller waits for the whole reply, never wait."""
        if not self.takes_turns or run.delivered_chars == 0:
            yield
            return
        with current_tail_lane().turn():
            yield

    def catch_up(self, run: Run) -> list[tuple[str, dict]]:
        if not self.mirror_pending:
            return []
        pending = [("delta", {"text": "".join(self.mirror_pending)})]
        self.mirror_pending.clear()
        return pending

    def confirm(self, run: Run, *, quiet: bool = False) -> None:
        sent, self.mirror_in_flight = self.mirror_in_flight, None
        if sent is None:
            return
        try:
            sent.confirm()
        except Exception as exc:
            if not quiet:
                raise
            log.warning("job_mirror_failed", job_id=run.job.id, error=str(exc))

    def after_write(self) -> None:
        if not db.is_closed():
            db.close()

    def writer(self) -> CommandWriter | None:
        return self.scope.pending_writes() if self.scope is not None else None


def adopt(job: Job, *, takes_turns: bool = False, scope: RequestScope | None = None) -> Run:
    """The run of a job this process created already claimed (`executor="web"`), limited by a
    deadline. `takes_turns`: its caller streams the reply, so its work after the first delivery
    takes turns. `scope`: the request it serves."""
    settings = current_settings()
    delivery = WebDelivery(takes_turns=takes_turns, scope=scope,
                           mirror_interval_s=settings.HUB_COMPAT_MIRROR_MS / 1000)
    return Run(job=job, token=job.worker_token, lease_s=settings.HUB_JOB_LEASE_S,
               deadline=time.monotonic() + settings.HUB_CHAT_TIME_LIMIT_S, delivery=delivery)

"""A run: the one owner of a running job, proven by a lease it renews while it works.

A job is owned by one run at a time (`worker_token`). What every run shares lives here: the
lease and its heartbeat, the cancel flag, the deadline, the output delivered so far. How a run
hands its output over differs by who runs it, and is its `Delivery` (a strategy): a Dramatiq
worker's (`app.jobs.runs.worker`) or the web process's serving a `/v1` caller
(`app.jobs.runs.web`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from app.chat.events import OutputDelta, billable_text, piece_of
from app.events import Event
from app.extensions import db
from app.jobs.cancellation import cancel_flags
from app.models.base import utcnow
from app.models.hot_sql import column_list
from app.models.jobs import Job
from app.services.ledger.cache import CommandWriter

log = structlog.get_logger(__name__)

CANCEL_CHECK_INTERVAL_S = 0.25  # a cancel stops the provider stream within this
TIME_LIMIT_ERROR = {"code": "time_limit", "message": "the job hit its time limit"}
RUNNING = {"status": "running"}


class RunTimeLimit(Exception):
    """A run outside Dramatiq (the web executor) passed its deadline."""


class Delivery(Protocol):
    """How a run hands its output over: one strategy per kind of run, each owning its policy
    (when `running` is announced, what is read before the pump, how deliveries reach the event
    stream, whether later work takes turns, what the run's writes go through)."""

    def start(self, run: Run) -> None:
        """Before the provider is asked for anything."""

    def head(self, run: Run, stream: Iterator[Any]) -> list[Any]:
        """The provider's first items, read on the run's own thread before the pump takes over."""

    def deliver(self, run: Run, text: str) -> Event | None:
        """Deliver `text` (recorded in `run`); the delta event, or None if the run lost the job."""

    def deliver_piece(self, run: Run, piece: OutputDelta) -> Event | None:
        """Deliver a piece other than the first choice's text (a tool call's, reasoning,
        another choice's text), after any text still pending, as `deliver`."""

    def turn(self, run: Run) -> AbstractContextManager[Any]:
        """Around each step of the run after its provider's first batch."""

    def catch_up(self, run: Run) -> list[tuple[str, dict]]:
        """Events the job's stream still lacks before its closing ones."""

    def confirm(self, run: Run, *, quiet: bool = False) -> None:
        """Wait for the event stream to take what was sent without waiting."""

    def after_write(self) -> None:
        """After each of the run's own database writes."""

    def writer(self) -> CommandWriter | None:
        """What the run's ledger cache writes go through (None: sent and confirmed at once)."""


@dataclass
class Run:
    job: Job
    token: str
    lease_s: int
    delivery: Delivery
    deadline: float | None = None  # monotonic; a worker's run is limited by Dramatiq instead
    running_announced: bool = False
    first_token_at: datetime | None = None
    text: list[str] = field(default_factory=list)  # the first choice's text
    pieces: list[dict[str, Any]] = field(default_factory=list)  # every other piece's data
    delivered_chars: int = 0
    provider: dict[str, str] = field(default_factory=dict)
    lost: bool = False
    time_limit_hit: bool = False
    upstream_started_at: float | None = None
    _last_heartbeat: float = field(default_factory=time.monotonic)
    _last_cancel_check: float = field(default_factory=time.monotonic)  # first look after 250 ms
    _canceled: bool = False

    @property
    def job_id(self) -> str:
        return self.job.id

    def heartbeat(self, *, force: bool = False) -> None:
        """Renew the lease (at most every third of it); notice if another run took the job."""
        now = time.monotonic()
        if not force and now - self._last_heartbeat < self.lease_s / 3:
            return
        self._last_heartbeat = now
        renewed = db.execute_sql(sql(_HEARTBEAT), (
            utcnow() + timedelta(seconds=self.lease_s), self.delivered_chars, self.job.id,
            self.token)).rowcount
        self.lost = renewed == 0
        self.after_write()

    def deliver(self, text: str) -> Event | None:
        return self.delivery.deliver(self, text)

    def deliver_piece(self, piece: OutputDelta) -> Event | None:
        return self.delivery.deliver_piece(self, piece)

    def confirm_mirror(self, *, quiet: bool = False) -> None:
        """Wait for what was sent to the event stream (raises if it refused it, unless `quiet`:
        then it is only logged)."""
        self.delivery.confirm(self, quiet=quiet)

    def after_write(self) -> None:
        self.delivery.after_write()

    def record_delivery(self, text: str) -> dict[str, Any]:
        """Count `text` as delivered; the delta event's data."""
        first = self.delivered_chars == 0
        self.delivered_chars += len(text)
        self.text.append(text)
        data: dict[str, Any] = {"text": text}
        if first:  # lets the web side tell the hub's own latency from the provider's
            data["upstream_ttft_ms"] = self.upstream_ms()
        return data

    def record_piece(self, piece: OutputDelta) -> dict[str, Any]:
        """Count a piece other than the first choice's text as delivered; its event's data."""
        first = self.delivered_chars == 0
        self.delivered_chars += max(1, len(billable_text(piece)))
        data = piece.as_data()
        self.pieces.append(data)
        if first:
            return {**data, "upstream_ttft_ms": self.upstream_ms()}
        return data

    def billable_text(self) -> str:
        """Everything delivered that counts as output: the text, tool calls, reasoning."""
        return "".join(self.text) + "".join(billable_text(piece_of(data)) for data in self.pieces)

    def check_time_limit(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise RunTimeLimit()

    def idle(self) -> None:
        """While the provider is silent: keep the lease and watch the deadline."""
        self.heartbeat()
        self.check_time_limit()

    def upstream_ms(self) -> float | None:
        if self.upstream_started_at is None:
            return None
        return round((time.perf_counter() - self.upstream_started_at) * 1000, 2)

    def cancel_requested(self) -> bool:
        now = time.monotonic()
        if not self._canceled and now - self._last_cancel_check >= CANCEL_CHECK_INTERVAL_S:
            self._last_cancel_check = now
            self._canceled = cancel_flags().is_requested(self.job.id)
        return self._canceled


def stream_events(run: Run, events: Iterable[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """`events`, after the `running` status if the run has not announced it yet."""
    opening = [] if run.running_announced else [("status", RUNNING)]
    run.running_announced = True
    return [*opening, *events]


_HEARTBEAT = ("UPDATE jobs SET lease_expires_at = {p}, delivered_chars = {p} "
              "WHERE id = {p} AND worker_token = {p}")


def sql(template: str) -> str:
    """`template` with this database's placeholder (`{p}`) and the job's columns (`{columns}`)."""
    return template.format(p=db.param, columns=column_list(Job))

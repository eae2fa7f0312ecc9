"""A `/v1` chat job's output, as the OpenAI- and Anthropic-compatible endpoints hand it over.

Two ways to get a job's events, with one interface (`JobOutput`):
- `LocalRun` (`HUB_COMPAT_EXECUTOR=web`, the default): this web thread runs the job for the
  caller it serves (`app.jobs.runs.web`), so each delta goes straight to the response (it is
  also sent to the job's event stream, for any other watcher, before it is handed over);
- `Relay` (`queue`): a worker runs it and this thread follows its event stream in Redis.
Either way the web thread gives its pooled database connection back before a long wait.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from app.errors import HubError
from app.events import Event, EventStream
from app.extensions import db
from app.jobs.cancellation import cancel_flags
from app.jobs.request_scope import RequestScope
from app.jobs.runs.chat import execute_chat
from app.jobs.runs.web import adopt
from app.jobs.streaming.relay import follow
from app.metrics import record_gateway_overhead
from app.models.jobs import Job
from app.services.runtime import current_events, current_settings

# How a job's error code (from a provider error) is reported over HTTP before any output.
ERROR_STATUS = {"provider_rate_limited": 429, "provider_timeout": 504,
                "provider_bad_request": 400, "model_not_found": 404, "time_limit": 504}


class UpstreamFailed(HubError):
    """The provider could not answer."""

    http_status = 502
    code = "upstream_error"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.http_status = ERROR_STATUS.get(code, 502)
        self.code = code


@dataclass
class JobOutput(ABC):
    """A chat job's events as the compatible endpoints need them."""

    job_id: str
    started_at: float
    api: str = "openai"  # which compatible API answers (the job's source), for the metrics
    head: list[Event] = field(default_factory=list)
    overhead_ms: float | None = None
    finished: bool = False

    @abstractmethod
    def _events(self, after_id: str) -> Iterator[Event]:
        """The job's events after `after_id`, through `done`."""

    @abstractmethod
    def cancel(self) -> None:
        """The client went away: stop the provider stream; only delivered output is charged."""

    def first_output(self) -> None:
        """Wait for the first delta (or the end); raise UpstreamFailed if it failed before any."""
        for event in self._events("0"):
            self.head.append(event)
            if event.type == "delta":
                upstream_ms = event.data.get("upstream_ttft_ms") or 0.0
                self.overhead_ms = _elapsed_ms(self.started_at) - upstream_ms
                record_gateway_overhead(self.api, stream=True, overhead_ms=self.overhead_ms)
                return
            if event.type == "done":
                self.finished = True
                self._raise_if_failed()
                return

    def _raise_if_failed(self) -> None:
        error = next((e for e in self.head if e.type == "error"), None)
        delivered = any(e.type == "delta" for e in self.head)
        if error is not None and not delivered:
            raise UpstreamFailed(error.data["code"], error.data["message"])

    def rest(self) -> Iterator[Event]:
        """Every event from the beginning through `done` (the head first, then live ones)."""
        yield from self.head
        if self.finished:
            return
        yield from self._events(self.head[-1].id if self.head else "0")

    def collect(self) -> dict[str, Any]:
        """Wait for the whole job (non-streaming responses): its delta events' data, its
        usage event, its error."""
        deltas, usage, error = [], {}, None
        for event in self.rest():
            if event.type == "delta":
                deltas.append(event.data)
            elif event.type == "usage":
                usage = event.data
            elif event.type == "error":
                error = event.data
        if error and not deltas:
            raise UpstreamFailed(error["code"], error["message"])
        upstream_ms = usage.get("upstream_ms") or 0.0
        overhead_ms = round(_elapsed_ms(self.started_at) - upstream_ms, 2)
        record_gateway_overhead(self.api, stream=False, overhead_ms=overhead_ms)
        return {"deltas": deltas, "usage": usage, "error": error, "overhead_ms": overhead_ms}


@dataclass
class Relay(JobOutput):
    """Follows the event stream of a job a worker runs."""

    events: EventStream | None = None
    flags: Any = None
    idle_timeout_s: float = 300.0

    def _events(self, after_id: str) -> Iterator[Event]:
        for event in follow(self.job_id, after_id, idle_timeout_s=self.idle_timeout_s,
                            events=self.events):
            if event is not None:
                yield event

    def cancel(self) -> None:
        self.flags.request(self.job_id)


@dataclass
class LocalRun(JobOutput):
    """Runs the job in this thread; its steps are the events, in order, as they happen."""

    steps: Iterator[Event] | None = None

    def _events(self, after_id: str) -> Iterator[Event]:
        # the steps themselves, not a generator around them: a reader that stops early (the
        # first output) must not close them, which would cancel the job
        return self.steps

    def cancel(self) -> None:
        self.steps.close()  # the run settles as canceled, charging only what was delivered


def _elapsed_ms(started_at: float) -> float:
    return round((time.perf_counter() - started_at) * 1000, 2)


def start_output(job: Job, *, streaming: bool, scope: RequestScope) -> JobOutput:
    """Begin handing over the events of a job just created for the request `scope` (`streaming`:
    the caller reads the reply as it comes, so a web run's work after the first token takes
    turns, `app.jobs.runs.tail_lane`; a caller waiting for the whole reply waits for all of
    it)."""
    started_at = scope.started_at
    if job.executor == "web":
        steps = execute_chat(adopt(job, takes_turns=streaming, scope=scope))
        output: JobOutput = LocalRun(job_id=job.id, started_at=started_at, api=job.source,
                                     steps=steps)
    else:
        output = Relay(job_id=job.id, started_at=started_at, api=job.source,
                       events=current_events(),
                       flags=cancel_flags(),
                       idle_timeout_s=current_settings().HUB_STREAM_IDLE_TIMEOUT_S)
    if not db.is_closed():
        db.close()  # give the pooled connection back before waiting on the provider
    return output


def compat_executor() -> str:
    """Where this hub runs a `/v1` chat request (HUB_COMPAT_EXECUTOR)."""
    return current_settings().HUB_COMPAT_EXECUTOR

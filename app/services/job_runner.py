"""Running a job: claim it, stream it, settle it exactly once.

A job is owned by one run at a time (`worker_token`), proven by a lease the run renews while it
works. A run is either a Dramatiq worker's (`run_chat_job`, claimed from the queue) or, for the
`/v1` endpoints, the web process's serving the caller (`adopt`, claimed when the job is created);
both go through `execute_chat`. Every ending goes through `_complete`: record the outcome, settle
the hold (idempotent per hold), then show the terminal status and emit `usage`, `error`, `done`.
A run that dies leaves an expired lease; `reap_stale_jobs` finishes such jobs (see the README's
billing policy).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from dramatiq.middleware import TimeLimitExceeded
from flask import current_app

from app.chat.events import TextDelta, Usage
from app.chat.record import request_from_record
from app.chat.request import ChatRequest
from app.events import Event
from app.events.base import SentEvents
from app.extensions import db
from app.metrics import record_settled_job
from app.models.base import utcnow
from app.models.hot_sql import column_list, model_from_row
from app.models.jobs import Job
from app.providers import pricing, router
from app.providers.errors import ProviderError
from app.services import job_store
from app.services.cancellation import cancel_flags
from app.services.lease_keeper import current_lease_keeper
from app.services.runtime import current_events, current_settings
from app.services.stream_pump import pump
from app.services.tail_lane import current_tail_lane

log = structlog.get_logger(__name__)

CANCEL_CHECK_INTERVAL_S = 0.25  # a cancel stops the provider stream within this
TIME_LIMIT_ERROR = {"code": "time_limit", "message": "the job hit its time limit"}
HOLD_RELEASED_ERROR = {"code": "hold_released",
                       "message": "the credits reserved for this job were released before it "
                                  "started; it did not run and nothing was charged"}
CANCELED_WHILE_QUEUED = "canceled-while-queued"  # the owner token of a job no worker ran
RUNNING = {"status": "running"}


class RunTimeLimit(Exception):
    """A run outside Dramatiq (the web executor) passed its deadline."""


@dataclass
class Run:
    job: Job
    token: str
    lease_s: int
    deadline: float | None = None  # monotonic; a worker's run is limited by Dramatiq instead
    running_announced: bool = False
    # How often delivered text is appended to the job's event stream. A worker's run: every
    # delivery (the stream is how it delivers). A web run delivers to its caller directly; the
    # stream is a mirror for other watchers, appended at most this often (and at the end).
    mirror_interval_s: float = 0.0
    mirror_pending: list[str] = field(default_factory=list)
    _last_mirrored_at: float = 0.0
    mirror_in_flight: SentEvents | None = None  # a web run's last mirror, sent, not confirmed
    takes_turns: bool = False  # a streamed web run: its work after its first token takes turns
    first_token_at: datetime | None = None
    text: list[str] = field(default_factory=list)
    delivered_chars: int = 0
    provider: dict[str, str] = field(default_factory=dict)
    lost: bool = False
    time_limit_hit: bool = False
    upstream_started_at: float | None = None
    _last_heartbeat: float = field(default_factory=time.monotonic)
    _last_cancel_check: float = field(default_factory=time.monotonic)  # first look after 250 ms
    _canceled: bool = False

    def heartbeat(self, *, force: bool = False) -> None:
        """Renew the lease (at most every third of it); notice if another run took the job."""
        now = time.monotonic()
        if not force and now - self._last_heartbeat < self.lease_s / 3:
            return
        self._last_heartbeat = now
        renewed = db.execute_sql(_sql(_HEARTBEAT), (
            utcnow() + timedelta(seconds=self.lease_s), self.delivered_chars, self.job.id,
            self.token)).rowcount
        self.lost = renewed == 0
        self.after_write()

    @property
    def by_web(self) -> bool:
        """A web thread runs it for its caller (see `adopt`). Such a run gives its pooled
        connection back after each write (it streams for long), writes its first delivery with
        the outcome (it is never run again anyway) and announces `running` with its first delta
        (its caller waits on the response, not on the events): each a round trip fewer before
        the caller's first token."""
        return self.job.executor == "web"

    def confirm_mirror(self, *, quiet: bool = False) -> None:
        """Wait for the last mirror's answer (raises if the event stream refused it, unless
        `quiet`: then it is only logged)."""
        sent, self.mirror_in_flight = self.mirror_in_flight, None
        if sent is None:
            return
        try:
            sent.confirm()
        except Exception as exc:
            if not quiet:
                raise
            log.warning("job_mirror_failed", job_id=self.job.id, error=str(exc))

    def after_write(self) -> None:
        if self.by_web and not db.is_closed():
            db.close()

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


# A job a run may take: queued, or running under an expired lease with nothing delivered.
_CLAIMABLE = ("(status = 'queued' OR (status = 'running' AND lease_expires_at < {p} "
              "AND delivered_chars = 0 AND outcome IS NULL))")
# Its credits are still reserved: a job runs only while its hold is active.
_HOLD_ACTIVE = ("EXISTS (SELECT 1 FROM credit_holds h WHERE h.id = jobs.hold_id "
                "AND h.status = 'active')")
_CLAIM = ("UPDATE jobs SET status = 'running', worker_token = {p}, "  # noqa: S608  # nosec B608  # constants; values are bound parameters
          "lease_expires_at = {p}, started_at = COALESCE(started_at, {p}), attempts = attempts + 1 "
          "WHERE id = {p} AND " + _CLAIMABLE + " AND " + _HOLD_ACTIVE + " RETURNING {columns}")
_HEARTBEAT = ("UPDATE jobs SET lease_expires_at = {p}, delivered_chars = {p} "
              "WHERE id = {p} AND worker_token = {p}")
_FIRST_DELIVERY = ("UPDATE jobs SET delivered_chars = {p}, first_token_at = {p}, provider = {p}, "
                   "channel = {p} WHERE id = {p} AND worker_token = {p}")


def _sql(template: str) -> str:
    return template.format(p=db.param, columns=column_list(Job))


def claim(job_id: str) -> Run | None:
    """Take the job if it is queued (or running under an expired lease with nothing delivered)
    and its hold is active. One whose hold is gone (released) never runs: it fails at no cost."""
    settings = current_settings()
    now, token = utcnow(), uuid.uuid4().hex
    row = db.execute_sql(_sql(_CLAIM), (token, now + timedelta(seconds=settings.HUB_JOB_LEASE_S),
                                        now, job_id, now)).fetchone()
    if row is None:
        if end_unstarted(job_id, token, outcome="failed", error=HOLD_RELEASED_ERROR,
                         condition=f"{_CLAIMABLE} AND NOT {_HOLD_ACTIVE}", params=(now,)):
            log.warning("job_failed_without_hold", job_id=job_id)
        else:
            log.info("job_claim_skipped", job_id=job_id)
        return None
    return Run(job=model_from_row(Job, row), token=token, lease_s=settings.HUB_JOB_LEASE_S)


def end_unstarted(job_id: str, token: str, *, outcome: str, error: dict[str, str] | None,
                  condition: str, params: tuple = ()) -> bool:
    """`job_store.end_unstarted`, then the closing events; False if `condition` did not hold."""
    ended = job_store.end_unstarted(job_id, token, outcome=outcome, error=error,
                                    condition=condition, params=params)
    if ended is None:
        return False
    job, charged = ended
    if charged is not None:
        _announce_finish(job, charged)
    return True


def cancel_queued(job_id: str) -> bool:
    """End a job still queued as canceled at once, at no cost; False if it is no longer queued
    (a run has it: it stops at its next chunk, see `cancel_flags`)."""
    return end_unstarted(job_id, CANCELED_WHILE_QUEUED, outcome="canceled", error=None,
                         condition="status = 'queued'")


def adopt(job: Job, *, takes_turns: bool = False) -> Run:
    """The run of a job this process created already claimed (`executor="web"`): limited by
    a deadline, since no Dramatiq time limit watches a web thread. `takes_turns`: its caller
    streams the reply, so its work after the first delivery takes turns (`_later_turn`)."""
    settings = current_settings()
    return Run(job=job, token=job.worker_token, lease_s=settings.HUB_JOB_LEASE_S,
               deadline=time.monotonic() + settings.HUB_CHAT_TIME_LIMIT_S,
               mirror_interval_s=settings.HUB_COMPAT_MIRROR_MS / 1000, takes_turns=takes_turns)


# --- chat --------------------------------------------------------------------------------------
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


def _chat_request(job: Job) -> ChatRequest:
    return request_from_record(job.model, json.loads(job.request_json))


def execute_chat(run: Run) -> Iterator[Event]:
    """Run a claimed chat job: yield each delta event as it is delivered, then the closing ones.

    Every ending settles exactly once, here: the provider's end, its failure, a cancel, the
    time limit, and the consumer closing this generator early (the caller went away: the
    provider stream is stopped and only the delivered output is charged).
    """
    job = run.job
    if not run.by_web:
        current_events().append(job.id, "status", RUNNING)
        run.running_announced = True
    stop = threading.Event()
    usage: Usage | None = None
    outcome, error = "succeeded", None
    app = current_app._get_current_object()
    run.upstream_started_at = time.perf_counter()
    try:
        for batch in _provider_batches(run, _chat_request(job), stop, app):
            usage = next((item for item in batch if isinstance(item, Usage)), usage)
            with _later_turn(run):
                delta = _deliver_batch(run, batch)
            if delta is not None:
                yield delta
            if run.lost:
                stop.set()
                log.warning("job_lease_lost", job_id=job.id)
                run.confirm_mirror()
                return
            run.check_time_limit()
            if run.cancel_requested():
                stop.set()
                outcome = "canceled"
                break
    except ProviderError as exc:
        outcome, error = "failed", {"code": exc.code, "message": exc.message}
    except (TimeLimitExceeded, RunTimeLimit):
        stop.set()
        outcome, error = "failed", TIME_LIMIT_ERROR
    except GeneratorExit:  # the consumer stopped reading: nothing more may be yielded
        stop.set()
        # its own app context: a generator dropped unread is closed wherever it is collected
        with app.app_context():
            if run.time_limit_hit:
                finish_chat(run, "failed", usage=None, error=TIME_LIMIT_ERROR)
            else:
                finish_chat(run, "canceled", usage=None, error=None)
        raise
    except BaseException:  # unforeseen: the lease expires and the reaper ends the job
        run.confirm_mirror(quiet=True)  # but give the mirror's connection back now
        raise
    if outcome == "succeeded" and run.cancel_requested():
        outcome = "canceled"
    with _later_turn(run):
        closing = finish_chat(run, outcome, usage=usage, error=error)
    yield from closing


@contextmanager
def _later_turn(run: Run) -> Iterator[None]:
    """A streamed web run's steps after its first delivery take the process's turn
    (`tail_lane`), so new requests' first tokens go first. Its first token, a worker's run
    and a web run whose caller waits for the whole reply never wait for one."""
    if not run.takes_turns or run.delivered_chars == 0:
        yield
        return
    with current_tail_lane().turn():
        yield


def _deliver_batch(run: Run, batch: list[Any]) -> Event | None:
    """Deliver a batch's text (the delta event, if any) and renew the lease when due."""
    text = "".join(item.text for item in batch if isinstance(item, TextDelta))
    delta = _deliver(run, text) if text else None
    if not run.lost:
        run.heartbeat()
    return delta


def _provider_batches(run: Run, request: ChatRequest, stop: threading.Event,
                      app: Any) -> Iterator[list[Any]]:
    """The provider's items, in batches as they should be delivered.

    A web run reads up to its first delta on its own thread, its lease renewed meanwhile by
    the process's lease keeper: no hand-off between threads before the first token (under load
    each costs milliseconds of waiting for the GIL). The rest of its stream, and a worker's
    whole stream, come through the pump (coalesced; the lease renewed while the provider is
    silent)."""
    stream = router.stream_chat(request, should_stop=stop.is_set,
                                on_provider=lambda p, c: run.provider.update(name=p, channel=c))
    pumping = False
    try:
        if run.by_web:
            head: list[Any] = []
            with current_lease_keeper().watching(run):
                for item in stream:
                    head.append(item)
                    if isinstance(item, TextDelta):
                        break
            if head:
                yield head
        pumping = True
    finally:
        if not pumping:  # the consumer stopped at the first delta: close the provider stream
            stream.close()

    def rest() -> Iterator[Any]:  # on the pump's thread: give it the app, close what it opens
        with app.app_context():
            try:
                yield from stream
            finally:
                if not db.is_closed():
                    db.close()

    yield from pump(rest, stop=stop, on_idle=run.idle,
                    coalesce_s=current_settings().HUB_STREAM_COALESCE_MS / 1000)


def _deliver(run: Run, text: str) -> Event | None:
    """A worker's run records its first delivery before the event is visible, so a dead run is
    never retried after it (and a run that lost the job to another never shows its text); a web
    run is never retried, and records it with the outcome. The text goes to the event stream
    before the consumer gets it (a web run may batch it, see HUB_COMPAT_MIRROR_MS). A web run
    sends it there without waiting for the answer, which it reads before its next write to the
    stream: the caller gets the text one Redis round trip sooner, and the text is already on
    its way to the stream (written to Redis's socket, so it arrives even if this process dies
    next) before the caller has it."""
    first = run.delivered_chars == 0
    if first:
        run.first_token_at = utcnow()
    if first and not run.by_web:
        owned = db.execute_sql(_sql(_FIRST_DELIVERY), (
            len(text), run.first_token_at, run.provider.get("name"),
            run.provider.get("channel"), run.job.id, run.token)).rowcount
        run.after_write()
        if not owned:
            run.lost = True
            return None
    run.delivered_chars += len(text)
    run.text.append(text)
    data: dict[str, Any] = {"text": text}
    if first:  # lets the web side tell the hub's own latency from the provider's
        data["upstream_ttft_ms"] = run.upstream_ms()
    now = time.monotonic()
    if not first and now - run._last_mirrored_at < run.mirror_interval_s:
        run.mirror_pending.append(text)  # mirrored with a later delivery, or at the end
        return Event("", "delta", data)
    run._last_mirrored_at = now
    mirrored = {**data, "text": "".join([*run.mirror_pending, text])}
    run.mirror_pending.clear()
    events = [("delta", mirrored)] if run.running_announced else [("status", RUNNING),
                                                                  ("delta", mirrored)]
    run.running_announced = True
    if run.by_web:  # its caller reads the text from this event, not from the stream
        run.confirm_mirror()
        run.mirror_in_flight = current_events().send_many(run.job.id, events)
        return Event("", "delta", data)
    if len(events) == 1:  # one command (a script), not a pipeline: this runs for every delta
        return Event(current_events().append(run.job.id, *events[0]), "delta", data)
    return Event(current_events().append_many(run.job.id, events)[-1], "delta", data)


def chat_charge(job: Job, delivered_text: str, usage: Usage | None,
                outcome: str) -> tuple[int, int, int]:
    """(input_tokens, output_tokens, cost_credits) under the billing policy in the README.

    Provider-reported usage when the stream completed; otherwise the delivered output counted
    with the tokenizer that sized the hold. Nothing delivered and nothing reported: no charge.
    """
    if usage is not None and outcome == "succeeded":
        return usage.input_tokens, usage.output_tokens, pricing.chat_cost(
            job.price_id, usage.input_tokens, usage.output_tokens)
    counted_out = pricing.count_tokens(job.model, delivered_text) if delivered_text else 0
    if usage is not None:  # ended early but the provider still reported: bill what was received
        input_tokens, output_tokens = usage.input_tokens, min(usage.output_tokens, counted_out)
    elif delivered_text:
        input_tokens, output_tokens = job.prompt_tokens_estimate, counted_out
    else:
        return 0, 0, 0
    return input_tokens, output_tokens, pricing.chat_cost(job.price_id, input_tokens,
                                                          output_tokens)


def finish_chat(run: Run, outcome: str, *, usage: Usage | None,
                error: dict[str, str] | None) -> list[Event]:
    """Charge and settle the run's ending; the closing events (none if another run ended it)."""
    run.confirm_mirror()  # the closing events follow everything the run sent
    text = "".join(run.text)
    input_tokens, output_tokens, cost = chat_charge(run.job, text, usage, outcome)
    finish_reason = usage.finish_reason if usage is not None and outcome == "succeeded" else None
    opening: list[tuple[str, dict]] = [] if run.running_announced else [("status", RUNNING)]
    if run.mirror_pending:  # the mirror catches up before the closing events
        opening.append(("delta", {"text": "".join(run.mirror_pending)}))
        run.mirror_pending.clear()
    closing = _complete(
        run.job.id, run.token, outcome=outcome, cost_credits=cost, error=error, opening=opening,
        fields={"input_tokens": input_tokens, "output_tokens": output_tokens,
                "finish_reason": finish_reason, "upstream_ms": run.upstream_ms(),
                "result_text": text, "delivered_chars": run.delivered_chars,
                "provider": run.provider.get("name") or run.job.provider,
                "channel": run.provider.get("channel") or run.job.channel,
                "first_token_at": run.first_token_at or run.job.first_token_at})
    return closing[len(opening):]  # the opening ones only catch the stream up: already delivered


# --- completion, shared by every ending -------------------------------------------------------
def _complete(job_id: str, token: str, *, outcome: str, cost_credits: int,
              error: dict[str, str] | None, fields: dict[str, Any],
              opening: list[tuple[str, dict]] | None = None) -> list[Event]:
    """Record the outcome (only while this run owns the job), settle and show the job terminal
    (`job_store.finish_job`). Returns the closing events, or none if the job was not this run's
    to finish."""
    finished = job_store.finish_job(job_id, token, outcome=outcome, cost_credits=cost_credits,
                                     error=error, fields=fields)
    if finished is None:
        log.warning("job_complete_skipped", job_id=job_id, outcome=outcome)
        return []
    job, charged = finished
    return _announce_finish(job, charged, opening or []) if charged is not None else []


def settle_recorded(job: Job) -> None:
    """Settle a job whose outcome is recorded, then show it terminal. Safe to repeat."""
    charged = job_store.settle_job(job)
    if charged is not None:
        _announce_finish(job, charged)


def _announce_finish(job: Job, charged: int,
                     opening: list[tuple[str, dict]] | None = None) -> list[Event]:
    """The closing events, once the settle is committed: usage, error (if any), done (after
    `opening`, events the run had not sent yet)."""
    closing = [*(opening or []), ("usage", {"usage": _usage_of(job), "cost_credits": charged,
                          "finish_reason": job.finish_reason, "upstream_ms": job.upstream_ms})]
    if job.error_code:
        closing.append(("error", {"code": job.error_code, "message": job.error_message}))
    closing.append(("done", {"status": job.outcome}))
    ids = current_events().append_many(job.id, closing, finish=True)
    record_settled_job(job, charged)
    log.info("job_finished", job_id=job.id, status=job.outcome, cost_credits=charged)
    return [Event(event_id, type, data) for event_id, (type, data) in zip(ids, closing,
                                                                            strict=True)]


def _usage_of(job: Job) -> dict[str, int]:
    if job.type == "video":
        return {"seconds": job.video_seconds or 0}
    return {"input_tokens": job.input_tokens or 0, "output_tokens": job.output_tokens or 0}

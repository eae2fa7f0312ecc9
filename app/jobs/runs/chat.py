"""Running a chat job, whoever runs it: stream from the provider, deliver, settle once.

`execute_chat` is the same for every run; what differs (when `running` is announced, the
provider's first items read on the run's own thread, how each delivery reaches the event
stream, turns) is the run's `Delivery` (`app.jobs.runs.worker`, `app.jobs.runs.web`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import structlog
from dramatiq.middleware import TimeLimitExceeded
from flask import current_app

from app.chat.events import OUTPUT_DELTAS, TextDelta, Usage, merge_pieces
from app.chat.record import request_from_record
from app.chat.request import ChatRequest
from app.events import Event
from app.extensions import db
from app.jobs.runs.base import RUNNING, TIME_LIMIT_ERROR, Run, RunTimeLimit
from app.jobs.runs.ending import chat_charge, complete, output_json, usage_details
from app.jobs.streaming.coalescer import pump
from app.models.jobs import Job
from app.providers import router
from app.providers.errors import ProviderError
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)


def chat_request(job: Job) -> ChatRequest:
    return request_from_record(job.model, json.loads(job.request_json))


def execute_chat(run: Run) -> Iterator[Event]:
    """Run a claimed chat job: yield each delta event as it is delivered, then the closing ones.

    Every ending settles exactly once, here: the provider's end, its failure, a cancel, the
    time limit, and the consumer closing this generator early (the caller went away: the
    provider stream is stopped and only the delivered output is charged).
    """
    job = run.job
    run.delivery.start(run)
    stop = threading.Event()
    usage: Usage | None = None
    outcome, error = "succeeded", None
    app = current_app._get_current_object()
    run.upstream_started_at = time.perf_counter()
    try:
        for batch in _provider_batches(run, chat_request(job), stop, app):
            usage = next((item for item in batch if isinstance(item, Usage)), usage)
            with run.delivery.turn(run):
                deltas = _deliver_batch(run, batch)
            yield from deltas
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
    with run.delivery.turn(run):
        closing = finish_chat(run, outcome, usage=usage, error=error)
    yield from closing


def _deliver_batch(run: Run, batch: list[Any]) -> list[Event]:
    """Deliver a batch's output (its delta events) and renew the lease when due. A batch of
    plain text (nearly every one) is one delivery; other pieces go one by one, in order, each
    kind's consecutive pieces merged."""
    texts = []
    for item in batch:
        if type(item) is TextDelta and not item.choice:
            texts.append(item.text)
        elif not isinstance(item, Usage):
            break
    else:
        text = "".join(texts)
        delta = run.deliver(text) if text else None
        if not run.lost:
            run.heartbeat()
        return [delta] if delta is not None else []
    deltas = []
    for piece in merge_pieces([item for item in batch if isinstance(item, OUTPUT_DELTAS)]):
        if type(piece) is TextDelta and not piece.choice:
            delta = run.deliver(piece.text) if piece.text else None
        else:
            delta = run.deliver_piece(piece)
        if delta is not None:
            deltas.append(delta)
        if run.lost:
            return deltas
    run.heartbeat()
    return deltas


def _provider_batches(run: Run, request: ChatRequest, stop: threading.Event,
                      app: Any) -> Iterator[list[Any]]:
    """The provider's items, in batches as they should be delivered: the run's head (read on
    its own thread, see its `Delivery`), then the rest through the pump (coalesced; the lease
    renewed while the provider is silent)."""
    stream = router.stream_chat(request, should_stop=stop.is_set,
                                on_provider=lambda p, c: run.provider.update(name=p, channel=c))
    pumping = False
    try:
        head = run.delivery.head(run, stream)
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


def finish_chat(run: Run, outcome: str, *, usage: Usage | None,
                error: dict[str, str] | None) -> list[Event]:
    """Charge and settle the run's ending; the closing events (none if another run ended it)."""
    run.confirm_mirror()  # the closing events follow everything the run sent
    text = "".join(run.text)
    input_tokens, output_tokens, cost = chat_charge(run.job, run.billable_text(), usage, outcome)
    finish_reason = usage.finish_reason if usage is not None and outcome == "succeeded" else None
    opening = [] if run.running_announced else [("status", RUNNING)]
    opening += run.delivery.catch_up(run)  # the mirror catches up before the closing events
    closing = complete(
        run.job.id, run.token, outcome=outcome, cost_credits=cost, error=error, opening=opening,
        writer=run.delivery.writer(),
        fields={"input_tokens": input_tokens, "output_tokens": output_tokens,
                **usage_details(usage, outcome), "output_json": output_json(run.pieces),
                "finish_reason": finish_reason, "upstream_ms": run.upstream_ms(),
                "result_text": text, "delivered_chars": run.delivered_chars,
                "provider": run.provider.get("name") or run.job.provider,
                "channel": run.provider.get("channel") or run.job.channel,
                "first_token_at": run.first_token_at or run.job.first_token_at})
    return closing[len(opening):]  # the opening ones only catch the stream up: already delivered

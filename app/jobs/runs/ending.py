"""Every ending of a job, settled exactly once: record the outcome, settle the hold (idempotent
per hold), then show the terminal status and emit `usage`, `error`, `done`.

Used by the runs (their own ending), by the job API (a queued job canceled) and by the reaper
(a run that died). The charge follows the billing policy (`chat_charge`;
docs/jobs.md#billing-policy-what-every-ending-costs).
"""

from __future__ import annotations

import json
from typing import Any

import structlog

from app.chat.events import Usage
from app.events import Event
from app.jobs import store
from app.metrics import record_settled_job
from app.models.jobs import Job
from app.services.ledger.cache import CommandWriter
from app.services.prices import pricing
from app.services.runtime import current_events

log = structlog.get_logger(__name__)

CANCELED_WHILE_QUEUED = "canceled-while-queued"  # the owner token of a job no worker ran


def chat_charge(job: Job, delivered_text: str, usage: Usage | None,
                outcome: str) -> tuple[int, int, int]:
    """(input_tokens, output_tokens, cost_credits) under the billing policy (docs/jobs.md).

    Provider-reported usage when the stream completed, with the prompt cache's reads and
    writes at their own rates; otherwise the delivered output (text, tool calls, reasoning:
    `Run.billable_text`) counted with the tokenizer that sized the hold. Nothing delivered
    and nothing reported: no charge.
    """
    if usage is not None and outcome == "succeeded":
        return usage.input_tokens, usage.output_tokens, _cost(job, usage, usage.output_tokens)
    counted_out = pricing.count_tokens(job.model, delivered_text) if delivered_text else 0
    if usage is not None:  # ended early but the provider still reported: bill what was received
        output_tokens = min(usage.output_tokens, counted_out)
        return usage.input_tokens, output_tokens, _cost(job, usage, output_tokens)
    if not delivered_text:
        return 0, 0, 0
    input_tokens = job.prompt_tokens_estimate
    return input_tokens, counted_out, pricing.chat_cost(job.price_id, input_tokens, counted_out)


def _cost(job: Job, usage: Usage, output_tokens: int) -> int:
    return pricing.chat_cost(job.price_id, usage.input_tokens, output_tokens,
                             cached_input_tokens=usage.cached_input_tokens,
                             cache_write_tokens=usage.cache_write_tokens)


def usage_details(usage: Usage | None, outcome: str) -> dict[str, int | None]:
    """The job's cache and reasoning counts, as the provider reported them."""
    if usage is None:
        return {"cached_input_tokens": None, "cache_write_tokens": None,
                "reasoning_tokens": None}
    return {"cached_input_tokens": usage.cached_input_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "reasoning_tokens": usage.reasoning_tokens}


def output_json(pieces: list[dict[str, Any]]) -> str | None:
    """The reply's output beyond the first choice's text (tool calls, reasoning, other
    choices), as the job keeps it: its delta events' data, in order."""
    return json.dumps(pieces, separators=(",", ":")) if pieces else None


def complete(job_id: str, token: str, *, outcome: str, cost_credits: int,
             error: dict[str, str] | None, fields: dict[str, Any],
             opening: list[tuple[str, dict]] | None = None,
             writer: CommandWriter | None = None) -> list[Event]:
    """Record the outcome (only while the run owning `token` owns the job), settle and show the
    job terminal (`store.finish_job`). Returns the closing events, or none if the job was
    not this run's to finish. `writer`: what the balance cache's bump goes through."""
    finished = store.finish_job(job_id, token, outcome=outcome, cost_credits=cost_credits,
                                error=error, fields=fields, writer=writer)
    if finished is None:
        log.warning("job_complete_skipped", job_id=job_id, outcome=outcome)
        return []
    job, charged = finished
    return announce_finish(job, charged, opening or []) if charged is not None else []


def settle_recorded(job: Job) -> None:
    """Settle a job whose outcome is recorded, then show it terminal. Safe to repeat."""
    charged = store.settle_job(job)
    if charged is not None:
        announce_finish(job, charged)


def end_unstarted(job_id: str, token: str, *, outcome: str, error: dict[str, str] | None,
                  condition: str, params: tuple = ()) -> bool:
    """`store.end_unstarted`, then the closing events; False if `condition` did not hold."""
    ended = store.end_unstarted(job_id, token, outcome=outcome, error=error,
                                condition=condition, params=params)
    if ended is None:
        return False
    job, charged = ended
    if charged is not None:
        announce_finish(job, charged)
    return True


def cancel_queued(job_id: str) -> bool:
    """End a job still queued as canceled at once, at no cost; False if it is no longer queued
    (a run has it: it stops at its next chunk, see `cancel_flags`)."""
    return end_unstarted(job_id, CANCELED_WHILE_QUEUED, outcome="canceled", error=None,
                         condition="status = 'queued'")


def announce_finish(job: Job, charged: int,
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
    usage = {"input_tokens": job.input_tokens or 0, "output_tokens": job.output_tokens or 0}
    for name in ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens"):
        if getattr(job, name, None):
            usage[name] = getattr(job, name)
    return usage

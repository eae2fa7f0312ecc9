"""Running an embedding job: one provider call on the web thread that serves the caller, then
one settle (`ending.complete`), exactly as a web chat run ends.

The job was opened already claimed by this thread (`executor="web"`, `app.jobs.runs.web.adopt`);
while the provider answers, the process's lease keeper renews its lease. The charge is the
provider-reported `prompt_tokens` at the hold's price version, never more than the hold; a
provider error (after the router's retries and fallbacks) costs nothing. If this process dies
mid-call, the reaper fails the job at no cost: nothing was delivered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

from app.extensions import db
from app.jobs.lease_keeper import current_lease_keeper
from app.jobs.request_scope import RequestScope
from app.jobs.runs.base import Run
from app.jobs.runs.ending import complete
from app.jobs.runs.web import adopt
from app.models.jobs import Job
from app.providers import router
from app.providers.embedding import EmbeddingRequest, EmbeddingResult
from app.providers.errors import ProviderError, ProviderUnavailable
from app.services.embedding_pricing import embedding_cost

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class EmbeddingRun:
    """A settled embedding job's answer."""

    result: EmbeddingResult
    cost_credits: int
    upstream_ms: float


def execute_embedding(job: Job, request: EmbeddingRequest, *,
                      scope: RequestScope | None = None) -> EmbeddingRun:
    """Call the provider for a job this thread opened, settle it, and return the answer.
    Raises the provider's error (ProviderError) after the job is settled as failed at no
    cost."""
    run = adopt(job, scope=scope)
    run.upstream_started_at = time.perf_counter()
    if not db.is_closed():
        db.close()  # give the pooled connection back while the provider answers
    try:
        with current_lease_keeper().watching(run):
            result = router.embed(request, on_provider=lambda p, c: run.provider.update(
                name=p, channel=c))
    except ProviderError as exc:
        _finish(run, "failed", cost_credits=0, prompt_tokens=0,
                error={"code": exc.code, "message": exc.message})
        raise
    cost = embedding_cost(job.price_id, result.prompt_tokens, job.hold_credits)
    charged = _finish(run, "succeeded", cost_credits=cost, prompt_tokens=result.prompt_tokens,
                      error=None)
    if charged is None:  # the lease ran out and the reaper ended the job: nothing was charged
        raise ProviderUnavailable("the embedding took longer than the job's lease; "
                                  "nothing was charged")
    return EmbeddingRun(result=result, cost_credits=charged, upstream_ms=run.upstream_ms() or 0)


def _finish(run: Run, outcome: str, *, cost_credits: int, prompt_tokens: int,
            error: dict[str, str] | None) -> int | None:
    """Record the outcome and settle; the credits charged, or None if the job was no longer
    this run's."""
    closing = complete(run.job.id, run.token, outcome=outcome, cost_credits=cost_credits,
                       error=error, writer=run.delivery.writer(),
                       fields={"input_tokens": prompt_tokens, "output_tokens": 0,
                               "upstream_ms": run.upstream_ms(),
                               "provider": run.provider.get("name"),
                               "channel": run.provider.get("channel")})
    usage = next((event for event in closing if event.type == "usage"), None)
    if usage is None:
        log.warning("embedding_job_not_ours", job_id=run.job.id, outcome=outcome)
        return None
    return usage.data["cost_credits"]

"""Embeddings as a job: hold the exact input, call the provider in this thread, settle once.

`create_embeddings` is what `POST /v1/embeddings` calls: it opens an `embedding` job through
the job API (`create_job`, which checks the API key's model list and caps, and places the hold
for the counted input tokens), runs it at once (`app.jobs.runs.embedding`) and hands back the
vectors and the charge. A provider failure is reported with the status a chat failure gets
(`app.jobs.output.ERROR_STATUS`), after the job settled at no cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from app.jobs.api import EmbeddingSpec, create_job
from app.jobs.output import UpstreamFailed
from app.jobs.request_scope import RequestScope
from app.jobs.runs.embedding import execute_embedding
from app.models.api_keys import ApiKey
from app.models.users import User
from app.providers.embedding import EmbeddingRequest
from app.providers.errors import ProviderError


@dataclass(frozen=True)
class Embeddings:
    job_id: str
    vectors: list[Any]  # one per input, in input order, as the provider encoded them
    prompt_tokens: int
    cost_credits: int
    overhead_ms: float  # the time the hub itself added (X-Hub-Overhead-Ms)


def create_embeddings(user: User, request: EmbeddingRequest, *, api_key: ApiKey | None,
                      scope: RequestScope, source: str = "openai") -> Embeddings:
    """Embed `request`'s inputs for `user` as a settled job. Refusals before the hold (a bad
    input, a model that is not an embedding model, short credits, the key's limits) leave
    nothing behind; UpstreamFailed when the provider could not answer (nothing charged)."""
    spec = EmbeddingSpec(model=request.model, input=request.input,
                         encoding_format=request.encoding_format, dimensions=request.dimensions)
    job = create_job(user, spec, api_key=api_key, source=source, executor="web", scope=scope)
    try:
        ran = execute_embedding(job, request, scope=scope)
    except ProviderError as exc:
        raise UpstreamFailed(exc.code, exc.message) from exc
    elapsed_ms = (time.perf_counter() - scope.started_at) * 1000
    return Embeddings(job_id=job.id, vectors=ran.result.vectors,
                      prompt_tokens=ran.result.prompt_tokens, cost_credits=ran.cost_credits,
                      overhead_ms=round(max(elapsed_ms - ran.upstream_ms, 0.0), 2))

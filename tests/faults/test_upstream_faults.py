"""The upstream misbehaves: a 429 with `retry-after` (short, and longer than the hub waits), a
hang before the first token and after a few, malformed SSE and a cut mid-stream, each through
both real runners: a `dramatiq` worker process (`POST /api/jobs`, watched over the WebSocket)
and the gunicorn process (`/v1/chat/completions`, the web executor).

tests/providers covers each fault at the adapter and router level (in-process) and
tests/jobs/test_job_failures.py a cut and a 400 through a worker; these add the rest of the
endings as a user meets them, with the charge checked against what the user was sent."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.models.jobs import Job
from tests.fake_upstream import Fault
from tests.faults.helpers import (
    SseReader,
    Watcher,
    assert_books_balanced,
    assert_charged_for,
    chat_body,
    submit_job,
)

pytestmark = pytest.mark.faults
FUNDS = 10_000_000


@dataclass(frozen=True)
class Case:
    fault: Fault
    status: str  # the job's ending
    error_code: str | None = None
    upstream_calls: int = 1
    delivered_chunks: int | None = None  # None: the whole reply
    v1_status: int = 200  # what a /v1 caller is answered


CASES = {
    "429 retry-after 1 s: waited, retried": Case(
        Fault(status=429, retry_after="1"), "succeeded", upstream_calls=2),
    "429 retry-after 30 s: past the cap, given up": Case(
        Fault(status=429, retry_after="30"), "failed", "provider_rate_limited",
        delivered_chunks=0, v1_status=429),
    "hang before the first token: timed out, retried": Case(
        Fault(kind="hang"), "succeeded", upstream_calls=2),
    "hang after 3 tokens: timed out, charged for 3": Case(
        Fault(kind="hang", after_chunks=3), "failed", "provider_stream_interrupted",
        delivered_chunks=3),
    "malformed SSE after 3 tokens: charged for 3": Case(
        Fault(kind="malformed", after_chunks=3), "failed", "provider_stream_interrupted",
        delivered_chunks=3),
    "cut after 3 tokens: charged for 3": Case(
        Fault(kind="cut", after_chunks=3), "failed", "provider_stream_interrupted",
        delivered_chunks=3),
}


def _run_on_worker(hub, headers) -> str:
    """POST /api/jobs, watch it to the end; the text its watcher was sent."""
    created = submit_job(hub, headers, max_tokens=64)
    assert created.status_code == 202, created.json()
    watcher = Watcher(hub.url, created.json()["id"], headers["Authorization"].split()[1]).join()
    assert watcher.events[-1]["type"] == "done" and watcher.close_code == 1000
    return watcher.text()


def _run_on_web(hub, headers, case: Case) -> str:
    """A streamed /v1 request; the text its caller was sent."""
    reader = SseReader(hub.url, headers, chat_body(max_tokens=64)).join()
    assert reader.status == case.v1_status, reader.payloads
    if case.v1_status != 200:  # refused before any token: OpenAI's error shape
        assert reader.payloads[-1]["error"]["code"] == case.error_code
        return ""
    errors = [p["error"]["code"] for p in reader.payloads if isinstance(p, dict) and "error" in p]
    assert errors == ([case.error_code] if case.error_code else [])
    assert reader.payloads[-1] == "[DONE]"
    return reader.text()


@pytest.mark.parametrize("executor", ["worker", "web"])
@pytest.mark.parametrize("name", list(CASES))
def test_upstream_fault(app, shared_hub, upstream, executor, name) -> None:
    case = CASES[name]
    hub = shared_hub
    upstream.chunk_count = 8
    user, headers = hub.funded_user(FUNDS)
    upstream.fail_next("chat", case.fault)

    delivered = _run_on_worker(hub, headers) if executor == "worker" else \
        _run_on_web(hub, headers, case)

    with hub.context():
        job = Job.get(Job.user == user.id)
    assert (job.status, job.error_code) == (case.status, case.error_code)
    assert len(upstream.requests_to("/v1/chat/completions")) == case.upstream_calls
    chunks = upstream.chunks()
    expected = "".join(chunks if case.delivered_chunks is None else
                       chunks[:case.delivered_chunks])
    assert delivered == expected
    if case.status == "succeeded":  # billed from the usage the provider reported
        with hub.context():
            from app.services.prices import pricing

            assert job.cost_credits == pricing.chat_cost(job.price_id, job.input_tokens, 8)
        assert job.output_tokens == 8
    else:
        assert_charged_for(hub, job, delivered)
    assert_books_balanced(hub, {user.id: FUNDS})

"""`/v1` chat requests run by the web process that serves the caller (HUB_COMPAT_EXECUTOR=web).

The endings only this executor has (the web process dies mid-stream or before any token, its own
deadline) and what other watchers see of such a job (a WebSocket replay, a cancel over REST).
The hub runs as production runs it: gunicorn, in its own process, which a test may kill.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from app import create_app
from app.jobs.reaper import reap_stale_jobs
from app.models.base import utcnow
from app.models.jobs import Job, UsageRecord
from app.services.ledger.checker import check_ledger
from tests.factories import auth_headers, create_user
from tests.fake_upstream import Fault
from tests.jobs.conftest import (
    assert_settled_once,
    balance,
    expected_cost,
    fund,
    job_settings,
    reap_until_finished,
    token_of,
    wait_until_finished,
    ws_events,
)
from tests.workers import hub_server

BODY = {"model": "gpt-4o-mini", "stream": True, "max_tokens": 2000,
        "messages": [{"role": "user", "content": "tell me a long story"}]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _serving(threads: int = 16, **overrides) -> Iterator[tuple]:
    """(settings, an app on them, the base URL, the gunicorn process)."""
    settings = job_settings(HUB_COMPAT_EXECUTOR="web", HUB_JOB_LEASE_S=2,
                            HUB_CHAT_TIME_LIMIT_S=5, **overrides)
    port = _free_port()
    with hub_server(settings, port, threads=threads) as proc:
        yield settings, create_app(settings), f"http://127.0.0.1:{port}", proc


@pytest.fixture
def web_hub(migrated_database, fake_upstream_server) -> Iterator[tuple]:
    with _serving() as served:
        yield served


@pytest.fixture
def wide_web_hub(migrated_database, fake_upstream_server) -> Iterator[tuple]:
    """A hub with a thread for each of 64 callers at once."""
    with _serving(threads=64) as served:
        yield served


@pytest.fixture
def mirrored_web_hub(migrated_database, fake_upstream_server) -> Iterator[tuple]:
    """A hub whose web runs mirror their text to the event stream at most every 100 ms."""
    with _serving(HUB_COMPAT_MIRROR_MS=100) as served:
        yield served


def _sse_payloads(response: httpx.Response) -> Iterator[dict | str]:
    """Each `data:` payload of an SSE response: a dict, or the string "[DONE]"."""
    for line in response.iter_lines():
        if line.startswith("data: "):
            payload = line[len("data: "):]
            yield payload if payload == "[DONE]" else json.loads(payload)


def _content(payload: dict | str) -> str:
    if not isinstance(payload, dict) or not payload.get("choices"):
        return ""
    return payload["choices"][0]["delta"].get("content") or ""


def _first_texts(payloads: Iterator[dict | str], count: int) -> list[str]:
    """Read on until `count` pieces of text have arrived (the rest stays unread)."""
    return list(itertools.islice((t for t in map(_content, payloads) if t), count))


def _kill(proc) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_web_process_killed_mid_stream_fails_charges_delivered_never_reruns(
        app, web_hub, upstream, funded_user) -> None:
    settings, hub_app, base, proc = web_hub
    upstream.chunk_count, upstream.chunk_delay_s = 400, 0.02
    headers = auth_headers(funded_user, settings.SECRET_KEY)
    before = balance(app, funded_user).balance
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=BODY, headers=headers,
                      timeout=30) as response:
        job_id = response.headers["x-hub-job-id"]
        received = _first_texts(_sse_payloads(response), 3)
        _kill(proc)
    job = reap_until_finished(hub_app, job_id)
    assert job.executor == "web"
    assert job.status == "failed" and job.error_code == "worker_lost"
    assert job.attempts == 1  # its caller is gone: never run again
    assert len(upstream.requests_to("/v1/chat/completions")) == 1
    assert job.output_tokens >= len(received) >= 3
    assert job.cost_credits == expected_cost(app, job, job.output_tokens) > 0
    with hub_app.app_context():
        assert reap_stale_jobs() == 0
    assert balance(app, funded_user).balance == before - job.cost_credits
    assert_settled_once(app, job, funded_user)


def test_web_process_killed_before_any_token_costs_nothing(app, web_hub, upstream,
                                                          funded_user) -> None:
    settings, hub_app, base, proc = web_hub
    upstream.fail_next("chat", Fault(kind="hang"))
    headers = auth_headers(funded_user, settings.SECRET_KEY)
    before = balance(app, funded_user).balance
    outcome: list = []

    def call() -> None:  # the response never starts: the first token never comes
        try:
            httpx.post(f"{base}/v1/chat/completions", json=BODY, headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    arrived = threading.Event()
    while not upstream.requests_to("/v1/chat/completions"):  # the hub is inside the call
        arrived.wait(0.05)
    _kill(proc)
    caller.join(timeout=30)
    assert outcome and isinstance(outcome[0], httpx.HTTPError)  # the caller saw it fail
    with app.app_context():
        job_id = Job.get(Job.user == funded_user.id).id
    job = reap_until_finished(hub_app, job_id)
    assert job.status == "failed" and job.cost_credits == 0 and job.attempts == 1
    assert len(upstream.requests_to("/v1/chat/completions")) == 1
    assert balance(app, funded_user).balance == before
    assert_settled_once(app, job, funded_user)


def test_web_run_hits_its_time_limit(app, web_hub, upstream, funded_user) -> None:
    settings, hub_app, base, _proc = web_hub
    upstream.chunk_count, upstream.chunk_delay_s = 1000, 0.02  # 20 s: past the 5 s limit
    headers = auth_headers(funded_user, settings.SECRET_KEY)
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=BODY, headers=headers,
                      timeout=30) as response:
        job_id = response.headers["x-hub-job-id"]
        payloads = list(_sse_payloads(response))
    errors = [p["error"] for p in payloads if isinstance(p, dict) and "error" in p]
    assert [e["code"] for e in errors] == ["time_limit"]
    assert payloads[-1] == "[DONE]"
    text = "".join(map(_content, payloads))
    job = wait_until_finished(hub_app, job_id)
    assert job.status == "failed" and job.error_code == "time_limit"
    assert job.result_text == text and 0 < job.output_tokens < 1000
    assert job.cost_credits == expected_cost(app, job, job.output_tokens)
    assert_settled_once(app, job, funded_user)


def test_a_web_run_waiting_long_for_its_first_token_keeps_its_lease(app, web_hub, upstream,
                                                                     funded_user) -> None:
    settings, hub_app, base, _proc = web_hub
    upstream.first_chunk_delay_s = 3 * settings.HUB_JOB_LEASE_S / 2  # longer than the lease
    headers = auth_headers(funded_user, settings.SECRET_KEY)
    answer: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answer.append(httpx.post(
        f"{base}/v1/chat/completions", json={**BODY, "stream": False}, headers=headers,
        timeout=30)))
    caller.start()
    with app.app_context():
        while not upstream.requests_to("/v1/chat/completions"):  # the hub is waiting on it
            threading.Event().wait(0.05)
        job = Job.get(Job.user == funded_user.id)
        first_lease = job.lease_expires_at
        while utcnow() <= first_lease:  # the lease it was created with has run out…
            threading.Event().wait(0.05)
        assert reap_stale_jobs() == 0  # …but the keeper renewed it: nothing to reap
        assert Job.get_by_id(job.id).lease_expires_at > first_lease
    caller.join(timeout=30)
    assert answer and answer[0].status_code == 200, answer
    job = wait_until_finished(hub_app, job.id)
    assert job.status == "succeeded" and job.attempts == 1
    assert_settled_once(app, job, funded_user)


def test_websocket_watcher_sees_every_event_of_a_web_run(app, web_hub, upstream,
                                                         funded_user) -> None:
    settings, _hub_app, base, _proc = web_hub
    upstream.chunk_count, upstream.chunk_delay_s = 40, 0.02
    headers = auth_headers(funded_user, settings.SECRET_KEY)
    with httpx.stream("POST", f"{base}/v1/chat/completions",
                      json=BODY | {"stream_options": {"include_usage": True}},
                      headers=headers, timeout=30) as response:
        job_id = response.headers["x-hub-job-id"]
        payloads = _sse_payloads(response)
        sse_text = [next(t for t in map(_content, payloads) if t)]
        # a watcher joins mid-stream, after the first token: it still gets everything
        watched: list = []
        watcher = threading.Thread(target=lambda: watched.extend(
            ws_events(base, job_id, token_of(headers))[0]))
        watcher.start()
        rest = list(payloads)
        watcher.join(timeout=30)
    sse_text += [_content(p) for p in rest]
    usage = next(p["usage"] for p in rest if isinstance(p, dict) and p.get("usage"))
    assert [e["type"] for e in watched][0] == "status"
    assert watched[-1] == {"id": watched[-1]["id"], "type": "done",
                           "data": {"status": "succeeded"}}
    assert "".join(e["data"]["text"] for e in watched if e["type"] == "delta") == \
        "".join(sse_text)
    usage_event = next(e for e in watched if e["type"] == "usage")
    assert usage_event["data"]["cost_credits"] == usage["cost_credits"] > 0
    assert usage_event["data"]["usage"]["output_tokens"] == usage["completion_tokens"] == 40


def test_cancel_over_rest_stops_a_web_run(app, web_hub, upstream, funded_user) -> None:
    settings, hub_app, base, _proc = web_hub
    upstream.chunk_count, upstream.chunk_delay_s = 300, 0.02
    headers = auth_headers(funded_user, settings.SECRET_KEY)
    before = balance(app, funded_user).balance
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=BODY, headers=headers,
                      timeout=30) as response:
        job_id = response.headers["x-hub-job-id"]
        payloads = _sse_payloads(response)
        received = _first_texts(payloads, 3)
        canceled = httpx.post(f"{base}/api/jobs/{job_id}/cancel", headers=headers, timeout=30)
        assert canceled.status_code == 200
        rest = list(payloads)  # the stream ends soon after, closed properly
    assert rest[-1] == "[DONE]"
    job = wait_until_finished(hub_app, job_id)
    assert job.status == "canceled"
    assert len(received) <= job.output_tokens < 300
    assert job.cost_credits == expected_cost(app, job, job.output_tokens)
    assert balance(app, funded_user).balance == before - job.cost_credits
    assert_settled_once(app, job, funded_user)


def test_a_mirror_window_sends_watchers_the_same_text_in_fewer_events(
        app, mirrored_web_hub, upstream, funded_user) -> None:
    settings, hub_app, base, _proc = mirrored_web_hub
    upstream.chunk_count, upstream.chunk_delay_s = 40, 0.02  # a token every 20 ms, for 0.8 s
    headers = auth_headers(funded_user, settings.SECRET_KEY)
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=BODY, headers=headers,
                      timeout=30) as response:
        job_id = response.headers["x-hub-job-id"]
        caller = [t for t in map(_content, _sse_payloads(response)) if t]
    watched, _ = ws_events(base, job_id, token_of(headers))  # joins after the end: replays
    mirrored = [e["data"]["text"] for e in watched if e["type"] == "delta"]
    assert "".join(mirrored) == "".join(caller)  # the same text
    assert len(caller) == 40 and len(mirrored) <= 15  # in fewer, larger events
    assert [e["type"] for e in watched][-2:] == ["usage", "done"]
    job = wait_until_finished(hub_app, job_id)
    assert job.status == "succeeded" and job.result_text == "".join(caller)
    assert_settled_once(app, job, funded_user)


def test_fifty_concurrent_v1_streams_only_the_affordable_ones_run(app, wide_web_hub,
                                                                   upstream) -> None:
    settings, hub_app, base, _proc = wide_web_hub
    upstream.chunk_count, upstream.chunk_delay_s = 40, 0.05  # each run holds for 2 s
    user = create_user()
    headers = auth_headers(user, settings.SECRET_KEY)
    quote = httpx.post(f"{base}/api/jobs/quote", headers=headers, timeout=30,
                       json={"type": "chat", **{k: BODY[k] for k in
                                                ("model", "max_tokens", "messages")}}).json()
    fund(app, user, quote["hold_credits"] * 20)

    def call(_: int) -> tuple[int, str]:
        with httpx.stream("POST", f"{base}/v1/chat/completions", json=BODY, headers=headers,
                          timeout=60) as response:
            if response.status_code != 200:
                return response.status_code, json.loads(response.read())["error"]["code"]
            payloads = list(_sse_payloads(response))
            assert payloads[-1] == "[DONE]"
            return 200, "".join(map(_content, payloads))

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(call, range(50)))
    answered = [text for status, text in results if status == 200]
    refused = [code for status, code in results if status != 200]
    assert len(answered) == 20 and all(text == "".join(upstream.chunks()) for text in answered)
    assert refused == ["insufficient_quota"] * 30
    with app.app_context():
        jobs = list(Job.select())
        assert len(jobs) == 20 and {j.status for j in jobs} == {"succeeded"}
        assert check_ledger().violations == []
        assert UsageRecord.select().count() == 20
    now = balance(app, user)
    assert now.held == 0
    assert now.balance == quote["hold_credits"] * 20 - sum(j.cost_credits for j in jobs)

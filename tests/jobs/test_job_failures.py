"""Billing on every ending (docs/jobs.md#billing-policy-what-every-ending-costs): cancel,
upstream failure, a worker that dies, the time limit. Each ends settled exactly once with a clean ledger."""

from __future__ import annotations

import json
import os
import signal

import pytest
import websocket

from app import create_app
from app.jobs.reaper import reap_stale_jobs
from app.services.runtime import current_events
from tests.conftest import QUEUE_PREFIX
from tests.factories import auth_headers
from tests.fake_upstream import Fault
from tests.jobs.conftest import (
    assert_settled_once,
    balance,
    chat_job,
    expected_cost,
    job_settings,
    reap_until_finished,
    token_of,
    wait_for_deltas,
    wait_until_finished,
)
from tests.workers import dramatiq_workers


def test_cancel_mid_stream_charges_only_delivered(app, client, hub, upstream, funded_user,
                                                  user_headers) -> None:
    upstream.chunk_count, upstream.chunk_delay_s = 300, 0.02
    before = balance(app, funded_user).balance
    job_id = chat_job(client, user_headers, model="gpt-4o-mini", max_tokens=400).json["id"]
    wait_for_deltas(app, job_id, 3)
    assert client.post(f"/api/jobs/{job_id}/cancel", headers=user_headers).status_code == 200
    job = wait_until_finished(app, job_id)
    assert job.status == "canceled"
    assert 3 <= job.output_tokens < 300
    assert job.cost_credits == expected_cost(app, job, job.output_tokens)
    assert balance(app, funded_user).balance == before - job.cost_credits
    assert_settled_once(app, job, funded_user)


def test_cancel_message_over_websocket(app, client, hub, upstream, funded_user,
                                       user_headers) -> None:
    upstream.chunk_count, upstream.chunk_delay_s = 300, 0.02
    job_id = chat_job(client, user_headers, model="gpt-4o-mini", max_tokens=400).json["id"]
    conn = websocket.create_connection(f"{hub.replace('http', 'ws')}/ws/jobs/{job_id}",
                                       timeout=30)
    conn.send(json.dumps({"type": "auth", "token": token_of(user_headers)}))
    events = []
    while True:
        opcode, data = conn.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        event = json.loads(data)
        events.append(event)
        if sum(e["type"] == "delta" for e in events) == 2:
            conn.send(json.dumps({"type": "cancel"}))
    conn.close()
    assert events[-1]["type"] == "done" and events[-1]["data"]["status"] == "canceled"
    assert wait_until_finished(app, job_id).status == "canceled"


def test_upstream_cut_mid_stream_fails_and_charges_delivered(app, client, hub, upstream,
                                                            funded_user, user_headers) -> None:
    upstream.chunk_count = 20
    upstream.fail_next("chat", Fault(kind="cut", after_chunks=4))
    job_id = chat_job(client, user_headers, model="gpt-4o-mini").json["id"]
    job = wait_until_finished(app, job_id)
    assert job.status == "failed"
    assert job.output_tokens == 4  # no fallback after delivered tokens; charged for those
    assert job.cost_credits == expected_cost(app, job, 4)
    body = client.get(f"/api/jobs/{job_id}", headers=user_headers).json
    assert body["error"]["code"] and body["result"]["text"]
    assert_settled_once(app, job, funded_user)


def test_upstream_failure_before_any_token_costs_nothing(app, client, hub, upstream,
                                                        funded_user, user_headers) -> None:
    upstream.fail_next("chat", Fault(kind="status", status=400, error_type="invalid_request"))
    before = balance(app, funded_user).balance
    job_id = chat_job(client, user_headers, model="gpt-4o-mini").json["id"]
    job = wait_until_finished(app, job_id)
    assert job.status == "failed" and job.cost_credits == 0
    assert balance(app, funded_user).balance == before
    assert_settled_once(app, job, funded_user)


def test_openai_stream_error_before_first_token_is_an_http_error(hub, upstream,
                                                                 user_headers) -> None:
    import openai

    upstream.fail_next("chat", Fault(kind="status", status=400, error_type="invalid_request"))
    client = openai.OpenAI(api_key=token_of(user_headers), base_url=f"{hub}/v1", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        list(client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                            messages=[{"role": "user", "content": "x"}]))


@pytest.fixture
def lone_worker_hub(migrated_database, fake_upstream_server):
    """A hub whose queues only its own worker processes consume (so a test may kill them)."""
    settings = job_settings(HUB_QUEUE_PREFIX=f"{QUEUE_PREFIX}lone{os.getpid()}.",
                            HUB_JOB_LEASE_S=2, HUB_CHAT_TIME_LIMIT_S=5)
    return settings, create_app(settings)


def _kill(proc) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_worker_killed_mid_job_is_failed_and_settled_once(app, lone_worker_hub, upstream,
                                                          funded_user) -> None:
    settings, hub_app = lone_worker_hub
    upstream.chunk_count, upstream.chunk_delay_s = 400, 0.02
    headers = auth_headers(funded_user, settings.SECRET_KEY)
    before = balance(app, funded_user).balance
    with dramatiq_workers(settings) as proc:
        job_id = chat_job(hub_app.test_client(), headers, model="gpt-4o-mini",
                          max_tokens=500).json["id"]
        wait_for_deltas(hub_app, job_id, 3)
        _kill(proc)
    job = reap_until_finished(hub_app, job_id)
    assert job.status == "failed" and job.error_code == "worker_lost"
    assert job.output_tokens >= 3
    assert job.cost_credits == expected_cost(app, job, job.output_tokens)
    with hub_app.app_context():
        assert reap_stale_jobs() == 0  # nothing left to do: settled once
    assert balance(app, funded_user).balance == before - job.cost_credits
    assert_settled_once(app, job, funded_user)


def test_worker_killed_before_any_token_is_retried(app, lone_worker_hub, upstream,
                                                   funded_user) -> None:
    settings, hub_app = lone_worker_hub
    upstream.fail_next("chat", Fault(kind="hang"))
    headers = auth_headers(funded_user, settings.SECRET_KEY)
    with dramatiq_workers(settings) as proc:
        job_id = chat_job(hub_app.test_client(), headers, model="gpt-4o-mini").json["id"]
        with hub_app.app_context():  # wait until the worker is inside the (hanging) upstream call
            events = current_events()
            while not upstream.requests_to("/v1/chat/completions"):
                events.read(job_id, "0", timeout_s=0.1)
        _kill(proc)
    with dramatiq_workers(settings):
        job = reap_until_finished(hub_app, job_id)
    assert job.status == "succeeded" and job.attempts == 2
    assert_settled_once(app, job, funded_user)


def test_time_limit_fails_and_charges_delivered(app, lone_worker_hub, upstream,
                                                funded_user) -> None:
    settings, hub_app = lone_worker_hub
    headers = auth_headers(funded_user, settings.SECRET_KEY)
    client = hub_app.test_client()
    with dramatiq_workers(settings):
        # a first job warms the fresh worker up (SDK imports, tokenizer), so the slow job's
        # first tokens arrive well inside its 5 s limit even on a busy machine
        warm_up = chat_job(client, headers, model="gpt-4o-mini").json["id"]
        assert wait_until_finished(hub_app, warm_up).status == "succeeded"
        upstream.chunk_count, upstream.chunk_delay_s = 1000, 0.02  # 20 s: past the 5 s limit
        job_id = chat_job(client, headers, model="gpt-4o-mini", max_tokens=2000).json["id"]
        job = wait_until_finished(hub_app, job_id)
    assert job.status == "failed" and job.error_code == "time_limit"
    assert 0 < job.output_tokens < 1000
    assert job.cost_credits == expected_cost(app, job, job.output_tokens)
    assert_settled_once(app, job, funded_user)

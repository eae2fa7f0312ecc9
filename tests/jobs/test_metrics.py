"""/metrics counts settled jobs, credits, tokens, time to first token, the gateway's own
overhead and the HTTP responses: in one process, and summed over every web and worker process in
multi-process mode, where the queue depths and breakers read at the scrape are served too."""

from __future__ import annotations

import os
import socket

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import QUEUE_PREFIX
from tests.factories import auth_headers
from tests.jobs.conftest import chat_job, job_settings, token_of, wait_until_finished
from tests.workers import dramatiq_workers, hub_server


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} from Prometheus text."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scraped: dict, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in scraped.items()
               if n == name and set(labels.items()) <= set(ls))


def test_a_v1_stream_is_counted(app, client, hub, upstream, user_headers) -> None:
    before = samples(client.get("/metrics").get_data(as_text=True))
    sdk = openai.OpenAI(api_key=token_of(user_headers), base_url=f"{hub}/v1", max_retries=0)
    chunks = list(sdk.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "count me"}], stream=True,
        max_tokens=50, stream_options={"include_usage": True}))
    cost = chunks[-1].usage.model_extra["cost_credits"]
    after = samples(client.get("/metrics").get_data(as_text=True))

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("hub_jobs_finished_total", model="gpt-4o-mini", status="succeeded",
                executor="web", provider="openai") == 1
    assert grew("hub_credits_charged_total", model="gpt-4o-mini") == cost > 0
    assert grew("hub_tokens_total", model="gpt-4o-mini", direction="output") == 5
    assert grew("hub_job_time_to_first_token_seconds_count", model="gpt-4o-mini") == 1
    assert grew("hub_gateway_overhead_seconds_count", api="openai", stream="true") == 1
    assert grew("hub_provider_attempts_total", provider="openai", outcome="ok") == 1


@pytest.fixture
def metered_hub(migrated_database, fake_upstream_server, tmp_path):
    """gunicorn and a worker process of their own, sharing one PROMETHEUS_MULTIPROC_DIR."""
    settings = job_settings(HUB_QUEUE_PREFIX=f"{QUEUE_PREFIX}metrics{os.getpid()}.")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with dramatiq_workers(settings, extra_env=env), hub_server(settings, port, extra_env=env):
        yield settings, f"http://127.0.0.1:{port}"


def test_every_process_is_counted_in_multi_process_mode(app, metered_hub, upstream,
                                                         funded_user) -> None:
    settings, base = metered_hub
    headers = auth_headers(funded_user, settings.SECRET_KEY)
    with httpx.Client(base_url=base, timeout=30) as http:
        queued = chat_job(http, headers, model="gpt-4o-mini").json()["id"]  # a worker runs it
        assert wait_until_finished(app, queued).status == "succeeded"
        answered = http.post("/v1/chat/completions", headers=headers, json={  # the web runs it
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
        assert answered.status_code == 200
        scraped = samples(http.get("/metrics").text)
    # a fresh directory: these are exactly this test's jobs, whichever process settled them
    assert value(scraped, "hub_jobs_finished_total", executor="queue", status="succeeded") == 1
    assert value(scraped, "hub_jobs_finished_total", executor="web", status="succeeded") == 1
    assert value(scraped, "hub_gateway_overhead_seconds_count", api="openai",
                 stream="false") == 1
    assert value(scraped, "hub_provider_attempts_total", outcome="ok") == 2
    assert value(scraped, "hub_http_requests_total", method="POST", route="/api/jobs",
                 status="202") == 1
    assert value(scraped, "hub_http_requests_total", route="/v1/chat/completions",
                 status="200") == 1
    assert value(scraped, "hub_queue_depth_up") == 1
    assert value(scraped, "hub_queue_depth", queue=f"{settings.HUB_QUEUE_PREFIX}chat") == 0
    assert value(scraped, "hub_channel_breaker_open", channel="openai") == 0
    assert ("hub_channel_breaker_open", frozenset({("provider", "openai"),
                                                   ("channel", "openai")})) in scraped

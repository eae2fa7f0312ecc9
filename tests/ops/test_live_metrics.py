"""What an operator scraping /metrics sees of the HTTP responses, the queues and the breakers:
responses counted by URL rule and status, messages waiting in each broker the hub can use, a
breaker a failing upstream opened; and a broker that does not answer costs the scrape a second,
not the scrape itself."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import websocket

from app import create_app
from tests.conftest import QUEUE_PREFIX, REDIS_URL, _truncate_all_tables, make_settings, sqlite_app
from tests.factories import auth_headers, create_user
from tests.fake_upstream import FakeUpstream, Fault
from tests.ops.scrape import Samples, idle_hub, samples, served, value
from tests.scheduler_helpers import AMQP_URL

HTTP = "hub_http_requests_total"


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def depths(scraped: Samples) -> dict[str, float]:
    return {dict(labels)["queue"]: v for (name, labels), v in scraped.items()
            if name == "hub_queue_depth"}


def breakers(scraped: Samples) -> dict[tuple[str, str], float]:
    return {(dict(labels)["provider"], dict(labels)["channel"]): v
            for (name, labels), v in scraped.items() if name == "hub_channel_breaker_open"}


@pytest.fixture
def hub(migrated_database):
    with idle_hub(HUB_BREAKER_FAILURE_THRESHOLD=2) as running:
        yield running


def test_responses_are_counted_by_url_rule_and_status_never_by_path(hub) -> None:
    before = hub.scrape()
    job_ids = [uuid.uuid4().hex, uuid.uuid4().hex]
    for job_id in job_ids:
        assert hub.http.get(f"/api/jobs/{job_id}", headers=hub.headers).status_code == 404
    for path in ("/wp-login.php", f"/scan/{uuid.uuid4().hex}"):
        assert hub.http.get(path).status_code == 404
    assert hub.http.request("BREW", "/api/models").status_code == 405
    streamed = hub.completion(stream=True)
    assert streamed.status_code == 200 and "data: [DONE]" in streamed.text
    hub.upstream.fail_next("chat", Fault(status=500), times=2)
    failed = hub.completion()
    assert failed.status_code == 502, failed.text
    after = hub.scrape()

    assert grew(before, after, HTTP, method="GET", route="/api/jobs/<job_id>", status="404") == 2
    assert grew(before, after, HTTP, method="GET", route="unmatched", status="404") == 2
    assert grew(before, after, HTTP, method="other", status="405") == 1
    # a stream is counted once, with the status it started with
    assert grew(before, after, HTTP, method="POST", route="/v1/chat/completions",
                status="200") == 1
    assert grew(before, after, HTTP, route="/v1/chat/completions", status="502") == 1
    assert grew(before, after, HTTP, route="/metrics", status="200") == 1  # the first scrape
    routes = {dict(labels)["route"] for name, labels in after if name == HTTP}
    assert not any(job_id in route or "scan" in route or "wp-login" in route
                   for route in routes for job_id in job_ids)


def test_a_websocket_is_counted_as_101_when_it_closes(hub) -> None:
    # The registry is the process's: sockets other tests opened in this process count too.
    before = hub.scrape()
    conn = websocket.create_connection(
        f"{hub.url.replace('http', 'ws')}/ws/jobs/{uuid.uuid4().hex}", timeout=10)
    conn.send(json.dumps({"type": "auth", "token": hub.headers["Authorization"][7:]}))
    opcode, data = conn.recv_data(control_frame=True)
    conn.close()
    assert (opcode, int.from_bytes(data[:2], "big")) == (websocket.ABNF.OPCODE_CLOSE, 4404)
    after = _until(hub.scrape, lambda scraped: grew(before, scraped, HTTP,
                                                    route="/ws/jobs/<job_id>"))
    assert grew(before, after, HTTP, route="/ws/jobs/<job_id>") == 1
    assert grew(before, after, HTTP, route="/ws/jobs/<job_id>", status="101") == 1


def _until(read, counted, timeout_s: float = 10.0) -> Samples:
    """`read()` once `counted(read())` is non-zero: the server thread counts a socket after its
    view returns, a moment after the client saw the close."""
    deadline = time.monotonic() + timeout_s
    while not counted(found := read()) and time.monotonic() < deadline:
        pass
    return found


def test_jobs_no_worker_takes_wait_in_rabbitmq_and_show_in_the_queue_depth(hub) -> None:
    assert depths(hub.scrape())[f"{hub.queue_prefix}chat"] == 0
    hub.chat_job()
    hub.chat_job()
    scraped = hub.scrape()
    seen = depths(scraped)
    assert seen[f"{hub.queue_prefix}chat"] == 2
    assert seen[f"{hub.queue_prefix}chat.DQ"] == 0
    assert {f"{hub.queue_prefix}{q}" for q in ("video", "ops", "mail", "ledger", "payments")} \
        <= set(seen)
    assert sum(seen.values()) == 2
    assert value(scraped, "hub_queue_depth_up") == 1


def test_a_breaker_a_failing_upstream_opened_is_open_on_metrics(hub) -> None:
    assert breakers(hub.scrape()) == {("openai", "openai"): 0, ("local", "local"): 0}
    hub.upstream.fail_next("chat", Fault(status=500), times=2)  # the threshold: 2 in a row
    refused = hub.completion()
    assert refused.status_code == 502
    assert breakers(hub.scrape()) == {("openai", "openai"): 1, ("local", "local"): 0}
    assert len(hub.upstream.requests_to("/v1/chat/completions")) == 2
    assert hub.completion().status_code == 502  # open: refused without calling upstream
    assert len(hub.upstream.requests_to("/v1/chat/completions")) == 2


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung broker."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("scheme", ["amqp", "redis"])
def test_a_broker_that_does_not_answer_leaves_the_depth_out_and_the_scrape_on_time(
        migrated_database, silent_port, scheme) -> None:
    for port in (silent_port, _closed_port()):
        url = (f"amqp://guest:guest@127.0.0.1:{port}/" if scheme == "amqp"
               else f"redis://127.0.0.1:{port}/0")
        client = create_app(make_settings(BROKER_URL=url)).test_client()
        started = time.monotonic()
        response = client.get("/metrics")
        elapsed_s = time.monotonic() - started
        assert response.status_code == 200
        scraped = samples(response.get_data(as_text=True))
        assert value(scraped, "hub_queue_depth_up") == 0
        assert depths(scraped) == {}
        assert breakers(scraped) == {("local", "local"): 0}  # the rest is served
        assert elapsed_s < 5, elapsed_s  # the broker's own connection would wait 10 s and more


def test_an_unreachable_breaker_store_leaves_the_breakers_out(migrated_database) -> None:
    app = create_app(make_settings(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0",
                                   BROKER_URL=AMQP_URL))
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    scraped = samples(response.get_data(as_text=True))
    assert breakers(scraped) == {}
    assert value(scraped, "hub_queue_depth_up") == 1


def test_the_redis_broker_reports_the_messages_in_its_lists(migrated_database) -> None:
    prefix = f"{QUEUE_PREFIX}redisq{uuid.uuid4().hex[:6]}."
    settings = make_settings(BROKER_URL=REDIS_URL, HUB_QUEUE_PREFIX=prefix)
    app = create_app(settings)
    broker = app.extensions["hub"].broker
    try:
        with app.app_context():
            headers = auth_headers(_funded_user(), settings.SECRET_KEY)
        client = app.test_client()
        assert client.post("/api/jobs", headers=headers, json=_CHAT_JOB).status_code == 202
        scraped = samples(client.get("/metrics").get_data(as_text=True))
    finally:
        broker.flush_all()
        _truncate_all_tables()  # its user and job: the next test counts jobs
    assert depths(scraped)[f"{prefix}chat"] == 1
    assert sum(depths(scraped).values()) == 1
    assert value(scraped, "hub_queue_depth_up") == 1


def test_the_embedded_hub_reports_its_own_queues_and_breakers(tmp_path) -> None:
    """SQLite, the in-process broker (no worker thread started here) and in-memory breakers."""
    with FakeUpstream() as upstream, sqlite_app(
            tmp_path, OPENAI_API_KEY=upstream.api_key, OPENAI_BASE_URL=upstream.openai_base_url,
            HUB_BREAKER_FAILURE_THRESHOLD=1, HUB_PROVIDER_MAX_ATTEMPTS=1) as app:
        with app.app_context():
            headers = auth_headers(_funded_user(), app.extensions["hub"].settings.SECRET_KEY)
        with served(app) as url:
            with httpx.Client(base_url=url, timeout=30) as http:
                assert http.post("/api/jobs", headers=headers, json=_CHAT_JOB).status_code == 202
                upstream.fail_next("chat", Fault(status=500))
                failed = http.post("/v1/chat/completions", headers=headers, json={
                    "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
                scraped = samples(http.get("/metrics").text)
    assert failed.status_code == 502
    assert depths(scraped)[f"{QUEUE_PREFIX}chat"] == 1
    assert sum(depths(scraped).values()) == 1
    assert breakers(scraped) == {("openai", "openai"): 1, ("local", "local"): 0}


_CHAT_JOB = {"type": "chat", "model": "local-echo", "max_tokens": 20,
             "messages": [{"role": "user", "content": "wait"}]}


def _funded_user():
    from app.services import ledger

    user = create_user()
    ledger.credit(user.id, 10_000_000, kind="promo", idempotency_key=f"test:{uuid.uuid4()}")
    return user

"""Job tests run the production shape: RabbitMQ broker, real `dramatiq` worker processes,
Redis event streams, PostgreSQL, the hub served over real HTTP/WebSocket in a thread. The
session's fake vendors (OpenAI/Anthropic, and Gemini for Veo) are what the workers call."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator

import pytest
import websocket
from werkzeug.serving import make_server

from app.jobs.reaper import reap_stale_jobs
from app.jobs.streaming.relay import follow
from app.models.jobs import Job, UsageRecord
from app.services import ledger
from app.services.ledger.checker import check_ledger
from app.services.prices import pricing
from app.services.runtime import current_events
from tests.conftest import make_settings
from tests.factories import auth_headers, create_user
from tests.fake_gemini import FakeGemini
from tests.fake_upstream import FakeUpstream
from tests.workers import dramatiq_workers

BROKER = "amqp://guest:guest@127.0.0.1:5672/"
UPSTREAM = FakeUpstream()  # one fake OpenAI/Anthropic for the session: the workers call it
GEMINI = FakeGemini()  # one fake Gemini API (Veo) for the session, beside it
JOB_SETTINGS = {"BROKER_URL": BROKER, "HUB_JOB_LEASE_S": 3, "HUB_EVENT_TTL_S": 600,
                "HUB_PROVIDER_RETRY_INITIAL_S": 0.01, "HUB_PROVIDER_RETRY_MAX_S": 0.05,
                "HUB_LOCAL_TOKEN_DELAY_S": 0.001}


def job_settings(**overrides: object):
    upstream = {"OPENAI_API_KEY": UPSTREAM.api_key, "OPENAI_BASE_URL": UPSTREAM.openai_base_url,
                "ANTHROPIC_API_KEY": UPSTREAM.api_key,
                "ANTHROPIC_BASE_URL": UPSTREAM.anthropic_base_url} | gemini_settings()
    return make_settings(**(JOB_SETTINGS | upstream | overrides))


def gemini_settings() -> dict[str, str]:
    """The Gemini key and base URL of the session's fake, once it serves (else none: the
    `google` channel stays off, as on a hub without a key)."""
    if not GEMINI.serving:
        return {}
    return {"GEMINI_API_KEY": GEMINI.api_key, "GEMINI_BASE_URL": GEMINI.url}


@pytest.fixture(scope="session")
def fake_gemini_server() -> Iterator[FakeGemini]:
    GEMINI.start()
    yield GEMINI
    GEMINI.stop()


@pytest.fixture(scope="session")
def fake_upstream_server(fake_gemini_server) -> Iterator[FakeUpstream]:
    """The session's fake OpenAI/Anthropic, with the fake Gemini started first, so that every
    fixture that builds `job_settings` on it (workers, apps) has the Veo channel too."""
    UPSTREAM.start()
    yield UPSTREAM
    UPSTREAM.stop()


@pytest.fixture
def upstream(fake_upstream_server) -> Iterator[FakeUpstream]:
    """The session's fake upstream, reset to 5 fast chunks and no faults for each test."""
    fake_upstream_server.reset()
    fake_upstream_server.chunk_count, fake_upstream_server.chunk_delay_s = 5, 0.0
    fake_upstream_server.first_chunk_delay_s = 0.0
    yield fake_upstream_server
    fake_upstream_server.reset()


@pytest.fixture
def gemini(fake_gemini_server) -> Iterator[FakeGemini]:
    """The session's fake Gemini, reset for each test; it renders on its second poll (after the
    video run's first backoff), reporting 50% on the first."""
    fake_gemini_server.reset()
    fake_gemini_server.polls_to_complete = 1
    yield fake_gemini_server
    fake_gemini_server.reset()


@pytest.fixture(scope="session")
def job_workers(migrated_database, fake_upstream_server) -> Iterator[None]:
    """One pool of worker processes for the whole session (tables are truncated per test)."""
    with dramatiq_workers(job_settings(), processes=1, threads=8) as proc:
        yield proc


@pytest.fixture
def settings(migrated_database, fake_upstream_server):
    return job_settings()


@pytest.fixture
def hub(app, job_workers) -> Iterator[str]:
    """The hub served over real HTTP (threaded werkzeug), for SDKs and WebSocket clients."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def fund(app, user, amount_credits: int) -> None:
    with app.app_context():
        ledger.credit(user.id, amount_credits, kind="promo",
                      idempotency_key=f"test:{uuid.uuid4()}", memo="test funding")


def balance(app, user):
    with app.app_context():
        return ledger.get_balance(user.id)


@pytest.fixture
def funded_user(app):
    user = create_user()
    fund(app, user, 10_000_000)
    return user


@pytest.fixture
def user_headers(funded_user, settings) -> dict[str, str]:
    return auth_headers(funded_user, settings.SECRET_KEY)


def ws_events(base_url: str, job_id: str, token: str, *, last_event_id: str | None = None,
              limit: int | None = None, timeout_s: float = 30) -> tuple[list[dict], int | None]:
    """Connect, authenticate with a first message, collect events until close (or `limit`)."""
    url = base_url.replace("http://", "ws://") + f"/ws/jobs/{job_id}"
    if last_event_id:
        url += f"?last_event_id={last_event_id}"
    conn = websocket.create_connection(url, timeout=timeout_s)
    conn.send(json.dumps({"type": "auth", "token": token}))
    events: list[dict] = []
    close_code = None
    try:
        while limit is None or len(events) < limit:
            opcode, data = conn.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                close_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                break
            if opcode == websocket.ABNF.OPCODE_TEXT:
                events.append(json.loads(data))
    finally:
        conn.close()
    return events, close_code


def chat_job(client, headers, text: str = "hello there", *, model: str = "local-echo",
             max_tokens: int = 64, **extra):
    body = {"type": "chat", "model": model, "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": text}], **extra}
    return client.post("/api/jobs", json=body, headers=headers)


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split(" ", 1)[1]


def wait_done(client, headers, job_id: str, base_url: str) -> dict:
    """Block on the job's event stream until `done`, then return the job as the API shows it."""
    events, _ = ws_events(base_url, job_id, token_of(headers))
    assert events and events[-1]["type"] == "done"
    return client.get(f"/api/jobs/{job_id}", headers=headers).json


def wait_until_finished(app, job_id: str, timeout_s: float = 30):
    """Follow the job's event stream to `done` (no polling of the database), return the row."""
    with app.app_context():
        for event in follow(job_id, idle_timeout_s=timeout_s):
            if event is not None and event.type == "done":
                break
        return Job.get_by_id(job_id)


def expected_cost(app, job: Job, output_tokens: int) -> int:
    with app.app_context():
        return pricing.chat_cost(job.price_id, job.prompt_tokens_estimate, output_tokens)


def assert_settled_once(app, job: Job, user) -> None:
    with app.app_context():
        assert UsageRecord.select().where(UsageRecord.job == job.id).count() == 1
        assert check_ledger().violations == []
    assert balance(app, user).held == 0


def wait_for_deltas(app, job_id: str, at_least: int) -> None:
    """Block on the job's stream until `at_least` deltas were delivered."""
    seen = 0
    with app.app_context():
        for event in follow(job_id, idle_timeout_s=30):
            if event is not None and event.type == "delta":
                seen += 1
                if seen >= at_least:
                    return


def reap_until_finished(app, job_id: str) -> Job:
    """Run the reaper (as the scheduler would) until the job's stream says `done`."""
    with app.app_context():
        after = "0"
        while True:
            reap_stale_jobs()
            for event in current_events().read(job_id, after, timeout_s=0.5):
                after = event.id
                if event.type == "done":
                    return Job.get_by_id(job_id)

"""A hub in its production shape for /metrics tests, and what a scrape of it shows.

`idle_hub` is PostgreSQL, Redis (events, breakers) and a RabbitMQ broker whose queues (a prefix
of their own) no worker consumes, so a job's message stays where it was sent; its OpenAI channel
is a fake upstream the test controls. It is served over real HTTP; everything it leaves (queues,
breaker state, rows) is removed after."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import redis as redis_lib
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.serving import make_server

from app import create_app
from app.services import ledger
from tests.conftest import (
    QUEUE_PREFIX,
    REDIS_PREFIX,
    REDIS_URL,
    _truncate_all_tables,
    make_settings,
)
from tests.factories import auth_headers, create_user
from tests.fake_upstream import FakeUpstream
from tests.scheduler_helpers import AMQP_URL, RabbitQueues

Samples = dict[tuple[str, frozenset], float]


def samples(text: str) -> Samples:
    """{(sample name, labels): value} from Prometheus text."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scraped: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when there is none)."""
    return sum(v for (n, ls), v in scraped.items()
               if n == name and set(labels.items()) <= set(ls))


def names(scraped: Samples) -> set[str]:
    return {name for name, _ in scraped}


@contextmanager
def served(app) -> Iterator[str]:
    """`app` over real HTTP (threaded werkzeug), at the URL yielded."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@dataclass
class IdleHub:
    app: object
    url: str
    http: httpx.Client
    headers: dict[str, str]  # a funded user's bearer token
    upstream: FakeUpstream
    queue_prefix: str

    def scrape(self) -> Samples:
        response = self.http.get("/metrics")
        assert response.status_code == 200, response.text
        return samples(response.text)

    def chat_job(self) -> str:
        """A chat job accepted (202): its message now waits in `<prefix>chat`."""
        created = self.http.post("/api/jobs", headers=self.headers, json={
            "type": "chat", "model": "local-echo", "max_tokens": 20,
            "messages": [{"role": "user", "content": "wait in the queue"}]})
        assert created.status_code == 202, created.text
        return created.json()["id"]

    def completion(self, **extra: object) -> httpx.Response:
        return self.http.post("/v1/chat/completions", headers=self.headers, json={
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 20, **extra})


@contextmanager
def idle_hub(**overrides: object) -> Iterator[IdleHub]:
    prefix = f"{QUEUE_PREFIX}idle{uuid.uuid4().hex[:6]}."
    with FakeUpstream() as upstream:
        app = create_app(make_settings(
            BROKER_URL=AMQP_URL, HUB_QUEUE_PREFIX=prefix, OPENAI_API_KEY=upstream.api_key,
            OPENAI_BASE_URL=upstream.openai_base_url, HUB_PROVIDER_RETRY_INITIAL_S=0.01,
            HUB_PROVIDER_RETRY_MAX_S=0.05, **overrides))
        queues = RabbitQueues()
        try:
            with app.app_context():
                user = create_user()
                ledger.credit(user.id, 10_000_000, kind="promo",
                              idempotency_key=f"test:{uuid.uuid4()}")
            headers = auth_headers(user, app.extensions["hub"].settings.SECRET_KEY)
            with served(app) as url, httpx.Client(base_url=url, timeout=30) as http:
                yield IdleHub(app, url, http, headers, upstream, prefix)
        finally:
            for queue in ("chat", "video", "ops", "mail", "ledger", "payments"):
                queues.count(f"{prefix}{queue}")  # so that close() deletes it and its twins
            queues.close()
            _forget_breakers()
            _truncate_all_tables()


def _forget_breakers() -> None:
    client = redis_lib.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{REDIS_PREFIX}breaker:*"):
        client.delete(key)  # breakers live in Redis: the next test starts closed
    client.close()

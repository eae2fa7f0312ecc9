"""Error tracking: an unhandled error reaches a local server speaking Sentry's envelope protocol,
tagged with the hub's request id (or the job's ids) and with no secret anywhere in the bytes."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dramatiq
import pytest
import sentry_sdk
import structlog
from flask import request

from app import create_app
from tests.conftest import QUEUE_PREFIX, make_settings

# The secrets a failing request and a failing job carry; none may reach the tracker.
HUB_KEY = "hub_Ab3dEf7h_" + "Q9wErTy2uIoP4aSdFgHjKlZxCvBnM1234567890Z"
ACCESS_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
PASSWORD = "correct-Horse-8Qx9-battery"
STRIPE_SIGNATURE_HMAC = "5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"
STRIPE_SECRET_KEY = "sk_live_51HxYzAbCdEfGhIjKlMnOpQr"
WEBHOOK_SECRET = "whsec_Zx8Cv7Bn6Mq5Wr4Et3Yu"
RESET_TOKEN = "rT0k3n-Xy9wVu8tS7rQ6pO5n"
SECRETS = (HUB_KEY, HUB_KEY.rsplit("_", 1)[1], ACCESS_JWT, PASSWORD, STRIPE_SIGNATURE_HMAC,
           STRIPE_SECRET_KEY, WEBHOOK_SECRET, RESET_TOKEN)

log = structlog.get_logger(__name__)


class EnvelopeServer(ThreadingHTTPServer):
    """Records each envelope POSTed to /api/<project>/envelope/ (raw bytes, parsed items)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EnvelopeHandler)
        self.raw: list[bytes] = []
        self.items: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.received = threading.Condition()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server_address[1]}/1"

    def events(self) -> list[dict[str, Any]]:
        return [payload for header, payload in self.items if header.get("type") == "event"]

    def wait_for_event(self, timeout_s: float = 15.0) -> dict[str, Any]:
        with self.received:
            assert self.received.wait_for(self.events, timeout=timeout_s), \
                "no event reached the tracker"
        return self.events()[0]


class _EnvelopeHandler(BaseHTTPRequestHandler):
    server: EnvelopeServer

    def do_POST(self) -> None:  # noqa: N802 — http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if not (self.path.startswith("/api/1/envelope/")):
            self.send_error(404)
            return
        with self.server.received:
            self.server.raw.append(body)
            self.server.items.extend(parse_envelope(body))
            self.server.received.notify_all()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — quiet
        pass


def parse_envelope(body: bytes) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Envelope: a header line, then per item a header line and a payload (of `length` bytes
    when the item header gives one, else up to the next newline)."""
    _, _, rest = body.partition(b"\n")
    items = []
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[:header["length"]], rest[header["length"] + 1:]
        else:
            payload, _, rest = rest.partition(b"\n")
        try:
            items.append((header, json.loads(payload)))
        except ValueError:
            items.append((header, {}))
    return items


@pytest.fixture
def tracker() -> Iterator[EnvelopeServer]:
    server = EnvelopeServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        # No client may outlive the test and report other tests' errors.
        sentry_sdk.get_client().close(timeout=2)
        sentry_sdk.get_global_scope().set_client(None)
        server.shutdown()
        server.server_close()


def app_with_failing_route(**overrides: object):
    app = create_app(make_settings(**overrides))

    def fail_upstream() -> None:
        body = request.get_json()
        log.info("stripe_call", api_key=STRIPE_SECRET_KEY, webhook_secret=WEBHOOK_SECRET)
        # A message that quotes the credential and the payload it was given.
        raise RuntimeError(f"upstream refused {request.headers['Authorization']} "
                           f"for {body['email']}: {body!r}")

    app.add_url_rule("/api/test/fail", view_func=fail_upstream, methods=["POST"])
    return app


def post_with_secrets(app):
    return app.test_client().post(
        f"/api/test/fail?token={RESET_TOKEN}&page=2",
        json={"email": "ada@example.com", "password": PASSWORD, "access_token": ACCESS_JWT},
        headers={"Authorization": f"Bearer {HUB_KEY}",
                 "Stripe-Signature": f"t=1700000000,v1={STRIPE_SIGNATURE_HMAC}"},
    )


def test_unhandled_web_error_arrives_with_request_id_and_no_secrets(
        migrated_database, tracker) -> None:
    app = app_with_failing_route(SENTRY_DSN=tracker.dsn)

    response = post_with_secrets(app)
    sentry_sdk.flush(timeout=10)

    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    event = tracker.wait_for_event()
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert "upstream refused Bearer [Filtered]" in exception["value"]
    assert event["tags"]["request_id"] == response.headers["X-Request-ID"]
    assert event["tags"]["component"] == "web"
    assert event["request"]["url"].endswith("/api/test/fail")
    assert event["request"]["data"]["email"] == "ada@example.com"  # the body is there, scrubbed
    assert "stripe_call" in json.dumps(event["breadcrumbs"])  # logs arrive as breadcrumbs
    raw = b"".join(tracker.raw)
    leaked = [secret for secret in SECRETS if secret.encode() in raw]
    assert leaked == []


def test_without_a_dsn_nothing_is_initialised_or_sent(migrated_database, tracker,
                                                      monkeypatch) -> None:
    # The SDK would fall back to this variable if the hub initialised it without a DSN.
    monkeypatch.setenv("SENTRY_DSN", tracker.dsn)
    app = app_with_failing_route(SENTRY_DSN="")

    response = post_with_secrets(app)
    sentry_sdk.flush(timeout=2)

    assert response.status_code == 500
    assert not sentry_sdk.get_client().is_active()
    assert tracker.raw == []


def test_failing_actor_arrives_with_its_job_and_message_ids(migrated_database, tracker) -> None:
    app = create_app(make_settings(SENTRY_DSN=tracker.dsn), component="worker")
    broker = app.extensions["hub"].broker
    queue_name = f"{QUEUE_PREFIX}error_tracking"

    def run_test_job(job_id: str) -> None:
        raise RuntimeError(f"provider rejected {STRIPE_SECRET_KEY} for job {job_id}")

    actor = dramatiq.Actor(run_test_job, broker=broker, actor_name="test_error_tracking.run",
                           queue_name=queue_name, priority=0, options={"max_retries": 0})
    worker = dramatiq.Worker(broker, queues={queue_name}, worker_threads=1)
    worker.start()
    try:
        message = actor.send("job-42")
        event = tracker.wait_for_event()
    finally:
        worker.stop()
        broker.flush(queue_name)

    exception = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "provider rejected [Filtered] for job job-42"
    assert event["tags"]["message_id"] == message.message_id
    assert event["tags"]["job_id"] == "job-42"
    assert event["tags"]["actor"] == "test_error_tracking.run"
    assert event["tags"]["component"] == "worker"
    assert STRIPE_SECRET_KEY.encode() not in b"".join(tracker.raw)


@pytest.mark.parametrize(("text", "scrubbed"), [
    ("GET /v1beta/models?key=AIzaSyA12345678901234567890123", "GET /v1beta/models?key=[Filtered]"),
    ("could not connect to postgresql://hub:s3cr3t-pw@db:5432/hub",
     "could not connect to postgresql://hub:[Filtered]@db:5432/hub"),
    ("/api/auth/verify-email?code=482913&email=a", "/api/auth/verify-email?code=[Filtered]&email=a"),
    ("OpenAI said: Incorrect API key provided: sk-proj-abcdefghijklmnop1234",
     "OpenAI said: Incorrect API key provided: [Filtered]"),
    ("charged 50 credits, max_tokens: 50, hub_user_id=3", None),
])
def test_secrets_are_found_inside_free_text(text: str, scrubbed: str | None) -> None:
    from app.error_scrubbing import scrub_text

    assert scrub_text(text) == (text if scrubbed is None else scrubbed)

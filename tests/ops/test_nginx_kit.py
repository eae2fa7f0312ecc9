"""The deploy kit's nginx site, for real: nginx (Debian's) with the rendered site, a
self-signed certificate and loopback ports, in front of gunicorn serving the hub with a
dramatiq worker (tests/ops/deploy_stack.py). Everything is asserted from the client's side of
nginx, over HTTPS, as a user or an SDK sees it."""

from __future__ import annotations

import json
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websocket

from tests.ops.deploy_stack import LOGIN_LIMIT, MAX_BODY_BYTES, ROOT, Stack, deployed_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    with deployed_stack(tmp_path_factory.mktemp("nginx")) as running:
        yield running


def client(stack: Stack, source_address: str = "127.0.0.1") -> httpx.Client:
    """A client connecting from `source_address` (any 127.0.0.0/8 address is this machine)."""
    transport = httpx.HTTPTransport(verify=str(stack.ca_file), local_address=source_address)
    return httpx.Client(base_url=stack.https_url, transport=transport, timeout=30)


def test_plain_http_is_redirected_to_https(stack: Stack) -> None:
    reply = httpx.get(f"{stack.http_url}/v1/models?limit=5", follow_redirects=False)
    assert reply.status_code == 301
    assert reply.headers["location"] == f"{stack.https_url}/v1/models?limit=5"


def test_streamed_chat_completion_arrives_chunk_by_chunk(stack: Stack) -> None:
    """The local model waits 50 ms between tokens: through nginx each chunk arrives as it is
    made, not all at the end (which a buffering proxy would do)."""
    body = {"model": "local-echo", "stream": True, "max_tokens": 30,
            "messages": [{"role": "user", "content": "stream through the proxy please"}]}
    arrivals: list[float] = []
    text = ""
    with client(stack) as http:
        start = time.monotonic()
        with http.stream("POST", "/v1/chat/completions", json=body,
                         headers={"Authorization": f"Bearer {stack.api_key}"}) as reply:
            assert reply.status_code == 200, reply.read()
            assert reply.headers["content-type"].startswith("text/event-stream")
            for line in reply.iter_lines():
                if not line.startswith("data: {"):
                    continue
                delta = json.loads(line[6:])["choices"]
                if delta and delta[0]["delta"].get("content"):
                    arrivals.append(time.monotonic() - start)
                    text += delta[0]["delta"]["content"]
    assert "stream through the proxy" in text  # the local model echoes the prompt
    assert len(arrivals) >= 10, arrivals
    span = arrivals[-1] - arrivals[0]
    assert span > 0.5, arrivals  # ≥ 10 chunks 50 ms apart at the source
    assert arrivals[0] < arrivals[-1] - 0.5, arrivals  # the first long before the last
    # spread over the stream: every quarter of it saw a chunk arrive
    quarters = {min(3, int(4 * (t - arrivals[0]) / span)) for t in arrivals}
    assert quarters == {0, 1, 2, 3}, arrivals


def ws_events(stack: Stack, job_id: str, *, last_event_id: str | None = None,
              limit: int | None = None) -> tuple[list[dict], int | None]:
    url = stack.https_url.replace("https://", "wss://") + f"/ws/jobs/{job_id}"
    if last_event_id:
        url += f"?last_event_id={last_event_id}"
    conn = websocket.create_connection(url, timeout=30, sslopt={
        "cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(stack.ca_file)})
    conn.send(json.dumps({"type": "auth", "token": stack.access_token}))
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


def test_job_websocket_streams_and_resumes_through_nginx(stack: Stack) -> None:
    with client(stack) as http:
        created = http.post("/api/jobs", headers={"Authorization": f"Bearer {stack.access_token}"},
                            json={"type": "chat", "model": "local-echo", "max_tokens": 12,
                                  "messages": [{"role": "user", "content": "over wss"}]})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]

    everything, code = ws_events(stack, job_id)
    assert code == 1000
    assert everything[-1]["type"] == "done" and everything[-1]["data"]["status"] == "succeeded"
    assert any(e["type"] == "delta" for e in everything)

    head, _ = ws_events(stack, job_id, limit=2)
    tail, code = ws_events(stack, job_id, last_event_id=head[-1]["id"])
    assert [e["id"] for e in head + tail] == [e["id"] for e in everything]
    assert code == 1000


def access_log_lines(stack: Stack, marker: str) -> list[str]:
    return [line for line in stack.web_log.read_text().splitlines() if marker in line]


def test_hub_logs_and_rate_limits_the_address_nginx_saw(stack: Stack) -> None:
    """A client at 127.0.0.2 claims other addresses in X-Forwarded-For: the hub logs
    127.0.0.2 and counts every sign-in attempt against it; another address is not limited."""
    marker = uuid.uuid4().hex
    statuses = []
    with client(stack, "127.0.0.2") as http:
        for attempt in range(LOGIN_LIMIT + 1):
            reply = http.post(f"/api/auth/login?probe={marker}",
                              json={"email": "nobody@example.com", "password": "wrong-password"},
                              headers={"X-Forwarded-For": f"203.0.113.{attempt + 1}"})
            statuses.append(reply.status_code)
    assert statuses[-1] == 429 and 429 not in statuses[:-1], statuses
    with client(stack, "127.0.0.3") as http:
        other = http.post("/api/auth/login", json={"email": "nobody@example.com",
                                                   "password": "wrong-password"},
                          headers={"X-Forwarded-For": "127.0.0.2"})
    assert other.status_code != 429

    logged = access_log_lines(stack, marker)
    assert len(logged) == LOGIN_LIMIT + 1, logged
    assert all(line.startswith("127.0.0.2 ") for line in logged), logged
    assert "203.0.113." not in stack.web_log.read_text()


def test_static_files_are_served_by_nginx(stack: Stack) -> None:
    with client(stack) as http:
        marker = uuid.uuid4().hex
        reply = http.get(f"/static/hub.css?probe={marker}")
        proxied = http.get(f"/v1/models?probe={marker}",
                           headers={"Authorization": f"Bearer {stack.api_key}"})
    assert reply.status_code == 200
    assert reply.content == (ROOT / "app" / "static" / "hub.css").read_bytes()
    assert reply.headers["x-served-by"] == "nginx-static"
    assert reply.headers["content-type"] == "text/css"
    assert "public" in reply.headers["cache-control"]
    # gunicorn logged the proxied request, never the static one
    assert proxied.status_code == 200 and "x-served-by" not in proxied.headers
    logged = access_log_lines(stack, marker)
    assert len(logged) == 1 and "/v1/models" in logged[0], logged


def test_bodies_over_the_hubs_limit_are_refused_by_nginx(stack: Stack) -> None:
    body = {"model": "local-echo", "messages": [{"role": "user", "content": "x" * MAX_BODY_BYTES}]}
    marker = uuid.uuid4().hex
    with client(stack) as http:
        reply = http.post(f"/v1/chat/completions?probe={marker}", json=body,
                          headers={"Authorization": f"Bearer {stack.api_key}"})
    assert reply.status_code == 413
    assert "nginx" in reply.text
    assert access_log_lines(stack, marker) == []


def test_the_nginx_prefix_holds_every_file_nginx_wrote(stack: Stack) -> None:
    """No root paths: the pid, logs and temp dirs are in the test's own directory."""
    written = {p.name for p in Path(stack.nginx_dir).iterdir()}
    assert {"nginx.pid", "error.log", "smart-ai-hub.access.log", "proxy_temp"} <= written

"""The hub's mixed workload, for Locust. `python -m scripts.bench.load.run` starts the stack and
runs it; by hand, against a hub whose accounts `scripts.bench.load.seed` made:

    locust -f scripts/bench/load/locustfile.py --headless -H http://127.0.0.1:5000 \
        --users-file users.json -u 51 -r 3 -t 2m

Users (each takes the next seeded account, `--users-file`):

- `WebUser`, the dashboard's traffic: signs in (`POST /api/auth/login`, an access token), then
  at `--web-rate` tasks per second reads its balance, reads its credit history (a page of
  `/api/credits/transactions`), now and then submits a chat job (`POST /api/jobs`) and watches
  it over `WS /ws/jobs/<id>` to `done`, then reads the finished job; and now and then signs in
  again (a new session).
- `ApiUser`, an integration: at `--api-rate` streams per second, a streamed
  `/v1/chat/completions` with its hub API key, read as SSE to `[DONE]`.
- `ProbeUser`, the same-run baseline: at `--probe-rate` per second, `GET /healthz` (the web
  process's floor: HTTP, routing, no database) and a stream straight from the fake upstream (the
  floor of a stream), so each figure has a reference measured under the same load.

Every request, and each WebSocket's connect, first event and watch to `done`, each event's
delay (its arrival less the millisecond its Redis stream id was written: the same clock on one
machine) and each stream's first token and whole stream, is a Locust request event: all of it
shows in Locust's statistics. `--samples-file` also writes every sample (wall time, type, name,
milliseconds, ok) as JSON when Locust quits, for exact percentiles per group (`run.py`).
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import websocket
from locust import FastHttpUser, constant_throughput, events, task
from locust.exception import StopUser

CHAT_MESSAGES = [{"role": "user", "content": "Summarise the load test in one paragraph."}]
WS_TIMEOUT_S = 60.0
_samples: list[tuple[float, str, str, float, bool]] = []
_accounts: list[dict[str, str]] = []
_next_account = itertools.count()


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("hub load test")
    group.add_argument("--users-file", default="", help="seeded accounts (seed.py's JSON)")
    group.add_argument("--web-users", type=int, default=45)
    group.add_argument("--web-rate", type=float, default=2.2, help="tasks/s per web user")
    group.add_argument("--api-users", type=int, default=5)
    group.add_argument("--api-rate", type=float, default=1.0, help="streams/s per API user")
    group.add_argument("--probe-rate", type=float, default=4.0, help="baseline probes/s")
    group.add_argument("--upstream-url", default="", help="the fake upstream (the baseline)")
    group.add_argument("--upstream-key", default="sk-fake-upstream")
    group.add_argument("--chat-model", default="gpt-4o-mini")
    group.add_argument("--samples-file", default="", help="write every sample here as JSON")


@events.init.add_listener
def _init(environment: Any, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    if options.users_file:
        _accounts.extend(json.loads(Path(options.users_file).read_text()))
    WebUser.fixed_count = options.web_users
    ApiUser.fixed_count = options.api_users
    ProbeUser.fixed_count = 1 if options.upstream_url else 0


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, exception: Any = None,
            **_kwargs: Any) -> None:
    _samples.append((time.time(), request_type, name, round(response_time, 3), exception is None))


@events.quitting.add_listener
def _write_samples(environment: Any, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is not None and options.samples_file:
        Path(options.samples_file).write_text(json.dumps(_samples))


def _json(response: Any) -> dict:
    """The response's JSON object, or {} (an error page, a connection that failed)."""
    try:
        body = json.loads(response.content or b"")
    except (ValueError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}


def _account() -> dict[str, str]:
    if not _accounts:
        raise StopUser("no accounts: pass --users-file")
    return _accounts[next(_next_account) % len(_accounts)]


class HubUser(FastHttpUser):
    abstract = True

    def report(self, request_type: str, name: str, started: float,
               error: Exception | None = None, length: int = 0) -> None:
        """One Locust request event, timed from `started` (perf_counter) to now."""
        self.environment.events.request.fire(
            request_type=request_type, name=name, response_length=length, context={},
            response_time=(time.perf_counter() - started) * 1000, exception=error, response=None)

    def stream_sse(self, url: str, body: dict, headers: dict, label: str) -> None:
        """POST `body` and read the SSE reply to `[DONE]`: the first token and the whole stream
        are reported (the POST itself is reported by the client, at its headers)."""
        started = time.perf_counter()
        first = False
        text, usage = [], None
        try:
            response = self.client.post(url, json=body, headers=headers, stream=True,
                                        name=f"POST {label}")
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            # geventhttpclient's own response: its readline returns each line as it arrives
            # (FastResponse.iter_content waits for a whole chunk_size, hiding the first token)
            while line := response._response.readline(b"\n"):
                line = line.rstrip(b"\r\n")
                if not line.startswith(b"data: "):
                    continue
                if line == b"data: [DONE]":
                    if not text or usage is None:
                        raise RuntimeError("a stream without text or usage")
                    self.report("SSE", f"{label} whole stream", started)
                    return
                payload = json.loads(line[6:])
                usage = payload.get("usage") or usage
                delta = (payload.get("choices") or [{}])[0].get("delta") or {}
                if delta.get("content"):
                    text.append(delta["content"])
                    if not first:
                        first = True
                        self.report("SSE", f"{label} first token", started)
            raise RuntimeError("the stream ended before [DONE]")
        except Exception as exc:  # noqa: BLE001 — every failure is counted, whatever its kind
            self.report("SSE", f"{label} whole stream", started, exc)


class WebUser(HubUser):
    """A signed-in dashboard user (see the module's docstring)."""

    fixed_count = 45

    def wait_time(self) -> float:
        return constant_throughput(self.environment.parsed_options.web_rate)(self)

    def on_start(self) -> None:
        """A session opens with the dashboard's main path, each step once: sign in, the balance,
        the history, a chat job watched to its end (so every kind of request is seen from the
        first seconds of a run, however short)."""
        self.account = _account()
        self.sign_in()
        self.balance()
        self.history()
        self.chat_job()

    def sign_in(self) -> None:
        with self.client.post("/api/auth/login", name="POST /api/auth/login", catch_response=True,
                              json={"email": self.account["email"],
                                    "password": self.account["password"]}) as response:
            token = _json(response).get("access_token")
            if not token:
                response.failure(f"sign-in: HTTP {response.status_code}")
                raise StopUser()
            self.token = token
            self.headers = {"Authorization": f"Bearer {token}"}

    @task(100)
    def balance(self) -> None:
        with self.client.get("/api/credits/balance", headers=self.headers, catch_response=True,
                             name="GET /api/credits/balance") as response:
            if response.status_code == 200 and "available" not in _json(response):
                response.failure("no available balance")

    @task(60)
    def history(self) -> None:
        with self.client.get("/api/credits/transactions?limit=20", headers=self.headers,
                             catch_response=True,
                             name="GET /api/credits/transactions") as response:
            if response.status_code == 200 and not _json(response).get("items"):
                response.failure("an empty history")

    @task(16)
    def chat_job(self) -> None:
        with self.client.post("/api/jobs", headers=self.headers, name="POST /api/jobs",
                              catch_response=True,
                              json={"type": "chat", "model": self.environment.parsed_options
                                    .chat_model, "messages": CHAT_MESSAGES,
                                    "max_tokens": 100}) as response:
            job_id = _json(response).get("id")
            if response.status_code != 202 or not job_id:
                response.failure(f"HTTP {response.status_code}")
                return
        if self.watch(job_id):
            with self.client.get(f"/api/jobs/{job_id}", headers=self.headers,
                                 name="GET /api/jobs/[id]", catch_response=True) as response:
                status = _json(response).get("status")
                if response.status_code == 200 and status != "succeeded":
                    response.failure(f"status {status} after done")

    @task(1)
    def sign_in_again(self) -> None:
        self.sign_in()

    def watch(self, job_id: str) -> bool:
        """Follow the job's WebSocket to `done`; whether it succeeded."""
        return watch_job(self, self.host, job_id, self.token)


def watch_job(user: HubUser, host: str, job_id: str, token: str) -> bool:
    """Open the job's WebSocket, authenticate by message, read to `done`, reporting the
    handshake, the first event, the watch to `done` and each live event's delay."""
    started = time.perf_counter()
    opened_ms = time.time() * 1000
    name = "/ws/jobs/[id]"
    conn = None
    try:
        conn = websocket.create_connection(host.replace("http", "ws", 1) + f"/ws/jobs/{job_id}",
                                           timeout=WS_TIMEOUT_S)
        user.report("WS", f"{name} connect", started)
        conn.send(json.dumps({"type": "auth", "token": token}))
        first = True
        while True:
            raw = conn.recv()
            if not raw:
                raise RuntimeError(f"closed before done ({conn.status})")
            received_ms = time.time() * 1000
            event = json.loads(raw)
            if first:
                first = False
                user.report("WS", f"{name} first event", started)
            written_ms = int(event["id"].split("-", 1)[0])
            if written_ms >= opened_ms:  # a live event, not one replayed from before
                user.environment.events.request.fire(
                    request_type="WS", name=f"{name} event delay", response_length=len(raw),
                    context={}, response_time=max(0.0, received_ms - written_ms),
                    exception=None, response=None)
            if event["type"] == "done":
                status = event["data"].get("status")
                error = None if status == "succeeded" else RuntimeError(f"done: {status}")
                user.report("WS", f"{name} watched to done", started, error)
                return error is None
    except Exception as exc:  # noqa: BLE001 — every failure is counted, whatever its kind
        user.report("WS", f"{name} watched to done", started, exc)
        return False
    finally:
        if conn is not None:
            conn.close()


class ApiUser(HubUser):
    """An integration streaming `/v1/chat/completions` with its hub API key."""

    fixed_count = 5

    def wait_time(self) -> float:
        return constant_throughput(self.environment.parsed_options.api_rate)(self)

    def on_start(self) -> None:
        self.api_headers = {"Authorization": f"Bearer {_account()['api_key']}"}

    @task
    def stream(self) -> None:
        self.stream_sse("/v1/chat/completions", {
            "model": self.environment.parsed_options.chat_model, "stream": True,
            "stream_options": {"include_usage": True}, "max_tokens": 100,
            "messages": CHAT_MESSAGES}, self.api_headers, "/v1/chat/completions")


class ProbeUser(HubUser):
    """The same-run baseline: the hub's `/healthz` and a stream straight from the upstream."""

    fixed_count = 0

    def wait_time(self) -> float:
        return constant_throughput(self.environment.parsed_options.probe_rate)(self)

    probes = 0

    @task
    def probe(self) -> None:
        """`/healthz` three times in four, the upstream stream the fourth (first)."""
        if self.probes % 4 == 0:
            self.upstream_stream()
        else:
            self.client.get("/healthz", name="GET /healthz (baseline)")
        self.probes += 1

    def upstream_stream(self) -> None:
        options = self.environment.parsed_options
        self.stream_sse(f"{options.upstream_url}/v1/chat/completions", {
            "model": options.chat_model, "stream": True,
            "stream_options": {"include_usage": True}, "max_tokens": 100,
            "messages": CHAT_MESSAGES}, {"Authorization": f"Bearer {options.upstream_key}"},
            "upstream (baseline)")

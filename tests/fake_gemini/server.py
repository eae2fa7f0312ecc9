"""A fake Gemini API (Veo video generation): a real HTTP/1.1 server on 127.0.0.1, in a thread.

It speaks the REST shapes the `google-genai` SDK reads (v1beta):
- `POST /v1beta/models/{model}:predictLongRunning` with `{"instances": [{"prompt", "image"?:
  {"bytesBase64Encoded", "mimeType"}}], "parameters": {...}}` → `{"name":
  "models/{model}/operations/{id}"}`;
- `GET /v1beta/models/{model}/operations/{id}`: while pending, `{"name", "metadata"?}` and no
  `done` field at all (the real API leaves defaults out); when finished, `done: true` and either
  `response.generateVideoResponse.generatedSamples[].video.uri`, a safety refusal
  (`raiMediaFilteredCount` and `raiMediaFilteredReasons`, no samples) or an `error`
  `{code, message, status}`;
- `GET /v1beta/files/{id}:download?alt=media` → the MP4 (`minimal_mp4`, its `mvhd` duration the
  requested `durationSeconds`, default 8, or `delivered_seconds` when set).
The key is read from the `x-goog-api-key` header or the `key` query parameter; a wrong or missing
key gets the real API's 400 `API_KEY_INVALID`. Every request is recorded in `requests`.

Behaviour per request, by markers in the prompt: "REFUSE" (the safety filter refuses it),
"FAIL" (the operation ends with an error), "SLOW" (`slow_extra_polls` more polls before done).
`reset()` restores these defaults between tests. Attributes settable between requests: `polls_to_complete` (pending answers before done),
`slow_extra_polls`, `report_progress` (pending operations carry `metadata.progressPercent`; the
public API documents no progress, so tests of a progress-less vendor turn it off),
`delivered_seconds` (serve a shorter video than requested), `render` (seconds → the MP4 served;
`minimal_mp4` by default, which a browser cannot play: a browser test hands it a real clip),
`api_key`; `fail_next(status)`
queues HTTP errors for the create call (429 with `retry-after`, 500, …).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fake_gemini.mp4 import minimal_mp4

API_PREFIX = "/v1beta/"
DEFAULT_SECONDS = 8
STATUS_NAMES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
REFUSAL_REASON = ("Your prompt could not be submitted. It may violate our policies. Support "
                  "codes: 58061214")


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: Any


@dataclass
class FakeOperation:
    name: str
    model: str
    instance: dict[str, Any]
    parameters: dict[str, Any]
    polls_left: int
    polls_total: int
    file_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def prompt(self) -> str:
        return str(self.instance.get("prompt") or "")

    @property
    def seconds(self) -> int:
        return int(self.parameters.get("durationSeconds") or DEFAULT_SECONDS)


@dataclass
class _Failure:
    status: int
    retry_after: str | None


class FakeGemini:
    def __init__(self, api_key: str = "test-gemini-key") -> None:
        self.api_key = api_key
        self.polls_to_complete = 2
        self.slow_extra_polls = 3
        self.report_progress = True
        self.delivered_seconds: int | None = None
        self.render: Callable[[int], bytes] = minimal_mp4
        self.requests: list[RecordedRequest] = []
        self.operations: dict[str, FakeOperation] = {}
        self._failures: deque[_Failure] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.reset()

    def reset(self) -> None:
        """Back to a fresh fake's behaviour (the key and the server stay), nothing recorded."""
        with self._lock:
            self.polls_to_complete, self.slow_extra_polls = 2, 3
            self.report_progress = True
            self.delivered_seconds = None
            self.render = minimal_mp4
            self.requests.clear()
            self.operations.clear()
            self._failures.clear()

    @property
    def serving(self) -> bool:
        return self._server is not None

    def start(self) -> FakeGemini:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGemini:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL (no API version), as `HttpOptions(base_url=...)` takes it."""
        assert self._server is not None, "the fake is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        """The next `times` create calls answer `status` with Google's error body."""
        with self._lock:
            self._failures.extend(_Failure(status, retry_after) for _ in range(times))

    def take_failure(self) -> _Failure | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def requests_to(self, suffix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    def new_operation(self, model: str, body: dict[str, Any]) -> FakeOperation:
        instance = (body.get("instances") or [{}])[0]
        polls = self.polls_to_complete
        if "SLOW" in str(instance.get("prompt") or ""):
            polls += self.slow_extra_polls
        name = f"models/{model}/operations/{uuid.uuid4().hex[:16]}"
        operation = FakeOperation(name=name, model=model, instance=instance,
                                  parameters=body.get("parameters") or {}, polls_left=polls,
                                  polls_total=polls)
        with self._lock:
            self.operations[name] = operation
        return operation

    def operation_json(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            operation = self.operations.get(name)
            if operation is None:
                return None
            if operation.polls_left > 0:
                operation.polls_left -= 1
                return self._pending(operation)
        return self._finished(operation)

    def _pending(self, operation: FakeOperation) -> dict[str, Any]:
        body: dict[str, Any] = {"name": operation.name}
        if self.report_progress:
            done = operation.polls_total - operation.polls_left
            body["metadata"] = {"progressPercent": done * 100 // (operation.polls_total + 1)}
        return body

    def _finished(self, operation: FakeOperation) -> dict[str, Any]:
        body: dict[str, Any] = {"name": operation.name, "done": True}
        if "FAIL" in operation.prompt:
            body["error"] = {"code": 13, "message": "Video generation failed: internal error.",
                             "status": "INTERNAL"}
            return body
        if "REFUSE" in operation.prompt:
            result: dict[str, Any] = {"raiMediaFilteredCount": 1,
                                      "raiMediaFilteredReasons": [REFUSAL_REASON]}
        else:
            uri = f"{self.url}{API_PREFIX}files/{operation.file_id}:download?alt=media"
            result = {"generatedSamples": [{"video": {"uri": uri}}]}
        body["response"] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta."
                     "PredictLongRunningResponse",
            "generateVideoResponse": result}
        return body

    def file_bytes(self, file_id: str) -> bytes | None:
        with self._lock:
            operation = next((o for o in self.operations.values() if o.file_id == file_id), None)
        if operation is None or "REFUSE" in operation.prompt or "FAIL" in operation.prompt:
            return None
        seconds = operation.seconds
        if self.delivered_seconds is not None:
            seconds = min(seconds, self.delivered_seconds)
        return self.render(seconds)


def error_body(status: int, message: str, reason: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "message": message,
                             "status": STATUS_NAMES.get(status, "UNKNOWN")}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": reason, "domain": "googleapis.com"}]
    return {"error": error}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGemini
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — quiet in tests
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = self._recorded(None)
        if path is None:
            return
        if path.startswith(f"{API_PREFIX}files/") and path.endswith(":download"):
            data = self.fake.file_bytes(path.removeprefix(f"{API_PREFIX}files/")
                                        .removesuffix(":download"))
            if data is None:
                self._json(404, error_body(404, "File not found."))
                return
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        operation = self.fake.operation_json(path.removeprefix(API_PREFIX))
        if operation is None:
            self._json(404, error_body(404, "Operation not found."))
            return
        self._json(200, operation)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self._recorded(body)
        if path is None:
            return
        if not (path.startswith(f"{API_PREFIX}models/") and path.endswith(":predictLongRunning")):
            self._json(404, error_body(404, f"No route {path}."))
            return
        failure = self.fake.take_failure()
        if failure is not None:
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            self._json(failure.status, error_body(failure.status, "Injected failure."), headers)
            return
        model = path.removeprefix(f"{API_PREFIX}models/").removesuffix(":predictLongRunning")
        self._json(200, {"name": self.fake.new_operation(model, body).name})

    def _recorded(self, body: Any) -> str | None:
        """Record the request; check the key. The path, or None when the key was refused."""
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.fake.record(RecordedRequest(self.command, parts.path, query, headers, body))
        key = headers.get("x-goog-api-key") or query.get("key")
        if key != self.fake.api_key:
            self._json(400, error_body(400, "API key not valid. Please pass a valid API key.",
                                       reason="API_KEY_INVALID"))
            return None
        return parts.path

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

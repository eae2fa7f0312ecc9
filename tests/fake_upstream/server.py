"""A fake OpenAI + Anthropic upstream: a real HTTP/1.1 server on 127.0.0.1, in a thread.

It speaks the wire protocols the official SDKs expect:
- OpenAI `POST /v1/chat/completions` (JSON, or SSE chunks + a usage chunk when
  `stream_options.include_usage` + `data: [DONE]`), `GET /v1/models`, videos
  (`POST /v1/videos`, `GET /v1/videos/<id>`, `GET /v1/videos/<id>/content`);
- Anthropic `POST /v1/messages` (JSON, or SSE events message_start, content_block_start,
  ping, content_block_delta…, content_block_stop, message_delta with usage, message_stop) and
  `POST /v1/messages/count_tokens`.

Faults are queued per route with `fail_next(route, Fault(...))` and served first-in first-out:
an HTTP status (429 with `retry-after`, 500, …), a hang (no answer until released or
`hang_s`), a stream cut after N chunks (the connection drops mid chunked body), malformed SSE
after N chunks, or an error event inside the stream. Replies are deterministic: chunk i is
`WORDS[i % len(WORDS)]` (with a leading space after the first); usage is reported as
`input_tokens = words in all messages + 3 per message`, `output_tokens = chunk_count`.

Reusable by other areas and benchmarks: `chunk_count`, `chunk_delay_s` (0 = "fast" mode), and
`api_key` are attributes that can be changed between requests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

WORDS = ("Hello", "from", "the", "fake", "upstream", "streaming", "tokens", "one", "by", "one")
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 1000
Route = Literal["chat", "models", "messages", "count_tokens", "videos.create",
                "videos.retrieve", "videos.content", "embeddings"]


@dataclass
class Fault:
    """One injected failure. kind: status | hang | cut | malformed | error_event."""

    kind: Literal["status", "hang", "cut", "malformed", "error_event"] = "status"
    status: int = 500
    retry_after: str | None = None
    after_chunks: int = 0  # for hang/cut/malformed/error_event inside a stream
    error_type: str = ""  # the vendor's error type/code in the body


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int = 0  # the caller's port: the same port twice means a reused connection


@dataclass
class FakeVideo:
    id: str
    model: str
    prompt: str
    seconds: str
    size: str
    polls: int = 0
    fail: bool = False


@dataclass
class FakeUpstream:
    api_key: str = "sk-fake-upstream"
    chunk_count: int = 5
    chunk_delay_s: float = 0.0
    first_chunk_delay_s: float = 0.0  # a model thinking before its first token
    hang_s: float = 30.0
    video_polls_to_complete: int = 2
    requests: list[RecordedRequest] = field(default_factory=list)
    _faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    _videos: dict[str, FakeVideo] = field(default_factory=dict)
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self, port: int = 0) -> FakeUpstream:
        upstream = self

        class Handler(_Handler):
            fake = upstream

        self._server = _QuietServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    # --- control --------------------------------------------------------------------------
    def fail_next(self, route: Route, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._faults[route].extend([fault] * times)

    def take_fault(self, route: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(route)
            return queue.popleft() if queue else None

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self._videos.clear()

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # --- deterministic content ------------------------------------------------------------
    def chunks(self) -> list[str]:
        return [(" " if i else "") + WORDS[i % len(WORDS)] for i in range(self.chunk_count)]

    def reply_text(self) -> str:
        return "".join(self.chunks())

    @staticmethod
    def input_tokens(messages: list[dict], system: Any = None) -> int:
        def words(content: Any) -> int:
            if isinstance(content, str):
                return len(content.split())
            return sum(len(str(p.get("text", "")).split()) for p in content or []
                       if isinstance(p, dict))

        total = sum(words(m.get("content")) + 3 for m in messages)
        return total + (words(system) + 3 if system else 0)

    def new_video(self, model: str, prompt: str, seconds: str, size: str) -> FakeVideo:
        video = FakeVideo(id=f"video_{uuid.uuid4().hex[:16]}", model=model, prompt=prompt,
                          seconds=seconds, size=size, fail="FAIL" in prompt)
        with self._lock:
            self._videos[video.id] = video
        return video

    def video(self, video_id: str) -> FakeVideo | None:
        with self._lock:
            return self._videos.get(video_id)


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 256  # the gateway benchmark opens 64 connections at once
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that drop a connection (timeouts, cut streams) are expected here."""


class _Handler(BaseHTTPRequestHandler):
    fake: FakeUpstream
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — quiet in tests
        pass

    # --- plumbing -------------------------------------------------------------------------
    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            return _parse_multipart(raw, content_type)
        return json.loads(raw) if raw else None

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: str) -> None:
        raw = data.encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _cut(self) -> None:
        """Drop the connection in the middle of the chunked body."""
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)

    def _hang(self) -> None:
        self.fake._release.wait(self.fake.hang_s)
        self.close_connection = True

    def _error_status(self, fault: Fault, anthropic: bool) -> None:
        headers = {"retry-after": fault.retry_after} if fault.retry_after else {}
        message = f"injected {fault.status}"
        if anthropic:
            kind = fault.error_type or {429: "rate_limit_error", 529: "overloaded_error",
                                        401: "authentication_error"}.get(fault.status, "api_error")
            self._json(fault.status, {"type": "error", "error": {"type": kind,
                                                                 "message": message}}, headers)
        else:
            self._json(fault.status, {"error": {"message": message, "type": "server_error",
                                                "param": None, "code": fault.error_type or None}},
                       headers)

    def _authorized(self, anthropic: bool) -> bool:
        bearer = self.headers.get("Authorization") == f"Bearer {self.fake.api_key}"
        # Anthropic's SDK sends the key as x-api-key or as a bearer token, by version.
        ok = bearer or (anthropic and self.headers.get("x-api-key") == self.fake.api_key)
        if not ok:
            self._error_status(Fault(status=401, error_type="invalid_api_key"), anthropic)
        return ok

    def _pre(self, route: str, anthropic: bool) -> Fault | None:
        """Record, authenticate, and serve a pre-stream fault. Returns a stream fault, if any."""
        fault = self.fake.take_fault(route)
        if fault and fault.kind == "status":
            self._error_status(fault, anthropic)
            return Fault(kind="status")
        if fault and fault.kind == "hang" and fault.after_chunks == 0:
            self._hang()
            return Fault(kind="status")
        return fault

    # --- routes ---------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        self.fake.record(RecordedRequest("GET", self.path, _lower(self.headers), None,
                                         self.client_address[1]))
        if not self._authorized(anthropic=False):
            return
        if self.path == "/v1/models":
            if self._pre("models", False):
                return
            self._json(200, {"object": "list", "data": [
                {"id": "gpt-4o", "object": "model", "created": 0, "owned_by": "fake"}]})
        elif self.path.startswith("/v1/videos/") and self.path.endswith("/content") \
                or "/content?" in self.path:
            self._video_content(self.path.split("/")[3])
        elif self.path.startswith("/v1/videos/"):
            self._video_retrieve(self.path.split("/")[3])
        else:
            self._json(404, {"error": {"message": "no such route", "type": "invalid_request_error"}})

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        self.fake.record(RecordedRequest("POST", self.path, _lower(self.headers), body,
                                         self.client_address[1]))
        anthropic = self.path.startswith("/v1/messages")
        if not self._authorized(anthropic):
            return
        if self.path == "/v1/chat/completions":
            self._chat(body)
        elif self.path == "/v1/messages":
            self._messages(body)
        elif self.path == "/v1/messages/count_tokens":
            if self._pre("count_tokens", True):
                return
            self._json(200, {"input_tokens": self.fake.input_tokens(body["messages"],
                                                                     body.get("system"))})
        elif self.path == "/v1/videos":
            self._video_create(body)
        elif self.path == "/v1/embeddings":
            self._embeddings(body)
        else:
            self._json(404, {"error": {"message": "no such route", "type": "invalid_request_error"}})

    def _stream_fault(self, fault: Fault | None, index: int, openai_style: bool) -> bool:
        """Serve an in-stream fault due before chunk `index`; True when the stream must end."""
        if fault is None or fault.after_chunks != index:
            return False
        if fault.kind == "cut":
            self._cut()
        elif fault.kind == "hang":
            self._hang()
            self._cut()
        elif fault.kind == "malformed":
            self._chunk("data: {\"choices\": [ this is not json\n\n" if openai_style else
                        "event: content_block_delta\ndata: {not json\n\n")
            self._end_stream()
        elif fault.kind == "error_event":
            if openai_style:
                self._chunk('data: {"error": {"message": "injected error event", '
                            '"type": "server_error"}}\n\n')
            else:
                self._chunk('event: error\ndata: {"type": "error", "error": {"type": '
                            '"overloaded_error", "message": "Overloaded"}}\n\n')
            self._end_stream()
        return True

    def _chat(self, body: dict) -> None:
        fault = self._pre("chat", False)
        if fault and fault.kind == "status":
            return
        fake = self.fake
        usage = {"prompt_tokens": fake.input_tokens(body["messages"]),
                 "completion_tokens": fake.chunk_count}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "created": int(time.time()),
                "model": body["model"]}
        if not body.get("stream"):
            self._json(200, {**base, "object": "chat.completion", "usage": usage, "choices": [
                {"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": fake.reply_text()}}]})
            return
        self._start_stream()

        def event(choices: list, extra: dict | None = None) -> None:
            payload = {**base, "object": "chat.completion.chunk", "choices": choices,
                       **(extra or {})}
            self._chunk(f"data: {json.dumps(payload)}\n\n")

        event([{"index": 0, "delta": {"role": "assistant", "content": ""},
                "finish_reason": None}])
        for index, text in enumerate(fake.chunks()):
            if self._stream_fault(fault, index, openai_style=True):
                return
            if index and fake.chunk_delay_s:
                time.sleep(fake.chunk_delay_s)
            if not index and fake.first_chunk_delay_s:
                time.sleep(fake.first_chunk_delay_s)
            event([{"index": 0, "delta": {"content": text}, "finish_reason": None}])
        if self._stream_fault(fault, fake.chunk_count, openai_style=True):
            return
        event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if (body.get("stream_options") or {}).get("include_usage"):
            event([], {"usage": usage})
        self._chunk("data: [DONE]\n\n")
        self._end_stream()

    def _messages(self, body: dict) -> None:
        fault = self._pre("messages", True)
        if fault and fault.kind == "status":
            return
        fake = self.fake
        input_tokens = fake.input_tokens(body["messages"], body.get("system"))
        message_id = f"msg_{uuid.uuid4().hex[:12]}"
        if not body.get("stream"):
            self._json(200, {"id": message_id, "type": "message", "role": "assistant",
                             "model": body["model"], "stop_reason": "end_turn",
                             "stop_sequence": None,
                             "content": [{"type": "text", "text": fake.reply_text()}],
                             "usage": {"input_tokens": input_tokens,
                                       "output_tokens": fake.chunk_count}})
            return
        self._start_stream()

        def event(name: str, data: dict) -> None:
            self._chunk(f"event: {name}\ndata: {json.dumps(data)}\n\n")

        event("message_start", {"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": body["model"],
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1}}})
        event("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}})
        event("ping", {"type": "ping"})
        for index, text in enumerate(fake.chunks()):
            if self._stream_fault(fault, index, openai_style=False):
                return
            if index and fake.chunk_delay_s:
                time.sleep(fake.chunk_delay_s)
            event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "text_delta", "text": text}})
        if self._stream_fault(fault, fake.chunk_count, openai_style=False):
            return
        event("content_block_stop", {"type": "content_block_stop", "index": 0})
        event("message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                "usage": {"output_tokens": fake.chunk_count}})
        event("message_stop", {"type": "message_stop"})
        self._end_stream()

    # --- videos ---------------------------------------------------------------------------
    def _embeddings(self, body: dict) -> None:
        """Deterministic unit vectors from a hash of each input (`dimensions`, default 8), as
        floats or base64 float32; prompt_tokens = words across inputs (at least 1 per input)."""
        if self._pre("embeddings", False):
            return
        raw = body["input"]
        inputs = [raw] if isinstance(raw, str) or (raw and isinstance(raw[0], int)) else raw
        dimensions = body.get("dimensions") or 8
        data, tokens = [], 0
        for index, item in enumerate(inputs):
            text = item if isinstance(item, str) else " ".join(str(t) for t in item)
            tokens += max(1, len(text.split()))
            digest = hashlib.sha256(text.encode()).digest()
            values = [digest[i % len(digest)] - 127.5 for i in range(dimensions)]
            norm = math.sqrt(sum(v * v for v in values)) or 1.0
            vector = [v / norm for v in values]
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        self._json(200, {"object": "list", "data": data, "model": body["model"],
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def _video_json(self, video: FakeVideo) -> dict:
        done = video.polls >= self.fake.video_polls_to_complete
        status = ("failed" if video.fail else "completed") if done else \
            ("in_progress" if video.polls else "queued")
        progress = 100 if done else int(100 * video.polls / self.fake.video_polls_to_complete)
        error = {"code": "moderation_blocked", "message": "injected failure"} \
            if done and video.fail else None
        return {"id": video.id, "object": "video", "model": video.model, "status": status,
                "progress": progress, "created_at": int(time.time()), "completed_at": None,
                "expires_at": None, "prompt": video.prompt, "seconds": video.seconds,
                "size": video.size, "remixed_from_video_id": None, "error": error}

    def _video_create(self, body: dict) -> None:
        if self._pre("videos.create", False):
            return
        video = self.fake.new_video(body.get("model", "sora-2"), body.get("prompt", ""),
                                    body.get("seconds", "4"), body.get("size", "720x1280"))
        self._json(200, self._video_json(video))

    def _video_retrieve(self, video_id: str) -> None:
        if self._pre("videos.retrieve", False):
            return
        video = self.fake.video(video_id)
        if video is None:
            self._json(404, {"error": {"message": "no such video", "type": "invalid_request_error"}})
            return
        body = self._video_json(video)
        video.polls += 1
        self._json(200, body)

    def _video_content(self, video_id: str) -> None:
        if self._pre("videos.content", False):
            return
        video = self.fake.video(video_id)
        if video is None or video.polls < self.fake.video_polls_to_complete:
            self._json(404, {"error": {"message": "video not ready", "type": "invalid_request_error"}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(VIDEO_BYTES)))
        self.end_headers()
        self.wfile.write(VIDEO_BYTES)


def _parse_multipart(raw: bytes, content_type: str) -> dict[str, str]:
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
    fields: dict[str, str] = {}
    for part in raw.split(b"--" + boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        if b'name="' not in head:
            continue
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        fields[name] = value.removesuffix(b"\r\n").decode()
    return fields


def _lower(headers: Any) -> dict[str, str]:
    """Recorded header names are lower-cased (HTTP names are case-insensitive)."""
    return {name.lower(): value for name, value in headers.items()}

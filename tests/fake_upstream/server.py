"""A fake OpenAI + Anthropic upstream: a real HTTP/1.1 server on 127.0.0.1, in a thread.

It speaks the wire protocols the official SDKs expect:
- OpenAI `POST /v1/chat/completions` (JSON, or SSE chunks + a usage chunk when
  `stream_options.include_usage` + `data: [DONE]`), `POST /v1/embeddings`,
  `POST /v1/responses`, `GET /v1/models`, videos (`POST /v1/videos`, `GET /v1/videos/<id>`,
  `GET /v1/videos/<id>/content`);
- Anthropic `POST /v1/messages` (JSON, or SSE events message_start, content_block_start,
  ping, content_block_delta…, content_block_stop, message_delta with usage, message_stop) and
  `POST /v1/messages/count_tokens`.
Every request is recorded in `requests` (`requests_to(path)`); a wrong key gets a 401.

Faults are queued per route with `fail_next(route, Fault(...))` and served first-in first-out
(routes: chat, messages, count_tokens, embeddings, responses, models, videos.*): an HTTP status
(429 with `retry-after`, 500, …), a hang (no answer until released or `hang_s`), a stream cut
after N chunks (the connection drops mid chunked body), malformed SSE after N chunks, or an
error event inside the stream. "Chunks" count every streamed delta after the opening
events, in stream order: reasoning/thinking pieces (and Anthropic's signature_delta), text
chunks, chat tool-call headers and argument pieces (with n > 1, one step of all choices). Embeddings serve status and hang faults; any other fault drops the connection.

Plain replies are deterministic: chunk i is `WORDS[i % len(WORDS)]` (with a leading space
after the first); usage is reported as `input_tokens = words in all messages + 3 per message`
(+ words of the system prompt + 3; the system may be a string or a list of text blocks; an
image part, `image_url` or `image`, counts 85), `output_tokens = chunk_count`. A request that
uses none of the features below gets exactly that reply.

Chat completions features:
- tools: with a non-empty `tools`, `tool_choice` not "none" and a last message whose role is
  not "tool", the reply is tool calls (content null, finish_reason "tool_calls"): the named
  function of `tool_choice`, else the first tool, or the first two tools (indexes 0, 1) when
  `parallel_tool_calls` is not false and there are at least 2. Each call: id
  `call_<12 hex>`, arguments `{"query": "<text of the last user message>"}`. Streamed: a role
  chunk `{"role": "assistant", "content": null}`, then per call a header delta
  `tool_calls=[{index, id, type, function: {name, arguments: ""}}]` and 3 argument pieces
  `[{index, function: {arguments}}]`. completion_tokens = 3 per call. After a "tool"
  message the reply is text.
- `reasoning_effort` (any value but "none"): 3 `delta.reasoning_content` pieces ("Thinking",
  " it", " over") before the content (non-streamed: `message.reasoning_content`);
  completion_tokens + 3 and `completion_tokens_details.reasoning_tokens` = 3.
- `cached_tokens` > 0: usage gains `prompt_tokens_details.cached_tokens` =
  min(cached_tokens, prompt_tokens).
- `n` > 1: every choice 0..n-1 gets the reply; streamed, each step sends one chunk per
  choice, and each choice its own finish chunk; completion_tokens = n × per choice.
- `logprobs: true`: each content chunk's choice has `logprobs.content` =
  [{token, logprob: -0.1, bytes, top_logprobs: []}] (non-streamed: all of them in one list).
- `response_format` json_object / json_schema: the text is `{"answer": "<the plain reply>"}`
  cut into chunk_count pieces.

Anthropic messages features:
- tools: with a non-empty `tools`, `tool_choice.type` not "none" and no `tool_result` block
  in the last user message: a text block "Let me check." then a tool_use block (id
  `toolu_<12 hex>`, the `{"type": "tool", "name": X}` tool else the first, input
  `{"query": last user text}`, streamed as 3 `input_json_delta` pieces); stop_reason
  "tool_use"; output_tokens = 4 (1 text + 3 pieces).
- `thinking` {"type": "enabled"}: a thinking block first (3 thinking_delta pieces "Thinking",
  " it", " over", then a signature_delta `sig-<12 hex>`); output_tokens + 3.
- `cache_read_tokens` / `cache_write_tokens` (either > 0): usage in message_start and in the
  JSON body carries `cache_read_input_tokens` and `cache_creation_input_tokens`;
  `input_tokens` stays the uncached count above.

Embeddings: `input` a string, a list of strings, a token-id list or a list of them;
`dimensions` (default 8); `encoding_format` "float" (default) or "base64" (little-endian
float32). Vectors are unit length, derived from a hash of each input. usage prompt_tokens =
total_tokens = words (or token ids) per input, at least 1 each.

Responses API: `input` a string or items (messages; function_call / function_call_output
items count the words of their arguments / output), `instructions` counted like a system
prompt. The output is one message with the plain reply, or, with function `tools` (same choice
rules as chat: `tool_choice` {"type": "function", "name"}, "none", parallel first two), one
function_call item per call (id `fc_<hex>`, call_id `call_<hex>`), and text again when the
last item is a function_call_output. Streamed as named events with `sequence_number` and no
`[DONE]`: response.created, response.in_progress, then per item output_item.added,
content_part.added, output_text.delta × chunk_count, output_text.done, content_part.done
(function calls: function_call_arguments.delta × 3, function_call_arguments.done),
output_item.done, and response.completed. usage: input_tokens,
input_tokens_details.cached_tokens (= min(cached_tokens, input_tokens)), output_tokens
(chunk_count, or 3 per call), output_tokens_details.reasoning_tokens (0), total_tokens.

Reusable by other areas and benchmarks: `chunk_count`, `chunk_delay_s` (0 = "fast" mode),
`first_chunk_delay_s`, `api_key`, `cached_tokens`, `cache_read_tokens` and
`cache_write_tokens` are attributes that can be changed between requests.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any, Literal

from tests.fake_upstream import replies
from tests.fake_upstream.anthropic_messages import MessagesRoute
from tests.fake_upstream.openai_chat import ChatRoute
from tests.fake_upstream.openai_embeddings import EmbeddingsRoute
from tests.fake_upstream.openai_responses import ResponsesRoute
from tests.fake_upstream.plumbing import Fault
from tests.fake_upstream.replies import WORDS

__all__ = ["VIDEO_BYTES", "WORDS", "FakeUpstream", "Fault", "RecordedRequest"]
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 1000
Route = Literal["chat", "models", "messages", "count_tokens", "embeddings", "responses",
                "videos.create", "videos.retrieve", "videos.content"]


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
    cached_tokens: int = 0  # OpenAI: prompt tokens reported as read from the prompt cache
    cache_read_tokens: int = 0  # Anthropic: cache_read_input_tokens
    cache_write_tokens: int = 0  # Anthropic: cache_creation_input_tokens
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
        """Words of every message's text + 3 per message (85 per image part), and of the
        system prompt (a string or a list of text blocks) + 3."""
        return replies.input_tokens(messages, system)

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


class _Handler(ChatRoute, MessagesRoute, EmbeddingsRoute, ResponsesRoute):
    """Routes each request to its route class; the videos routes live here."""

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
            self._json(200, {"input_tokens": replies.input_tokens(body["messages"],
                                                                   body.get("system"))})
        elif self.path == "/v1/embeddings":
            self._embeddings(body)
        elif self.path == "/v1/responses":
            self._responses(body)
        elif self.path == "/v1/videos":
            self._video_create(body)
        else:
            self._json(404, {"error": {"message": "no such route", "type": "invalid_request_error"}})

    # --- videos ---------------------------------------------------------------------------
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


def _lower(headers: Any) -> dict[str, str]:
    """Recorded header names are lower-cased (HTTP names are case-insensitive)."""
    return {name.lower(): value for name, value in headers.items()}

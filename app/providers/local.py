"""The built-in `local` provider: no key, no network, deterministic. Not an AI.

Chat streams an echo of the last user message followed by words drawn from a fixed vocabulary
with a generator seeded by the prompt, one token at a time with `HUB_LOCAL_TOKEN_DELAY_S`
between tokens, and reports real usage counted with the same tokenizer that sizes holds.
Video "renders" for `HUB_LOCAL_VIDEO_RENDER_S` and then serves a small valid MP4 test clip whose
`mvhd` says it lasts the seconds asked (the media itself is one second; the hub charges the
seconds the file says it delivers, so the demo charges what was asked), accepting every choice
its catalog entry lists and ignoring the others. The render's start time and its seconds are
inside its id, so any worker process can poll and download it.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from app.chat.events import TextDelta, Usage
from app.chat.record import messages_to_record
from app.chat.request import ChatRequest, Message, TextPart
from app.providers.base import ChatProvider, VideoProvider, write_atomically
from app.providers.catalog import ModelSpec
from app.providers.errors import ProviderBadRequest
from app.providers.mp4 import with_duration_s
from app.providers.tokens import count_messages, count_text, encoding
from app.providers.types import VideoRequest, VideoStatus

VIDEO_ASSET = Path(__file__).parent / "assets" / "local_video.mp4"
ECHO_MAX_CHARS = 200
VOCABULARY = ("the", "hub", "streams", "tokens", "offline", "model", "credits", "reply",
              "local", "demo", "works", "without", "network", "every", "word", "is", "counted",
              "and", "billed", "fairly", "from", "a", "fixed", "list", "so", "tests", "can",
              "repeat", "it", "exactly")
MIN_WORDS, MAX_WORDS = 24, 48


def _last_user_text(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return " ".join(part.text for part in message.content if isinstance(part, TextPart))
    return ""


def reply_text(messages: Sequence[Message]) -> str:
    """The full deterministic reply for these messages (before truncation to max_tokens),
    seeded by the messages as a job stores them."""
    echo = " ".join(_last_user_text(messages).split())[:ECHO_MAX_CHARS]
    record = messages_to_record(messages)
    seed = hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).digest()
    rng = random.Random(seed)  # nosec B311  # deterministic filler text for the offline model, not a secret
    words = [rng.choice(VOCABULARY) for _ in range(rng.randint(MIN_WORDS, MAX_WORDS))]
    return f'You said: "{echo}". Offline local model reply: ' + " ".join(words) + "."


class LocalChat(ChatProvider):
    name = "local"

    def __init__(self, *, token_delay_s: float, sleep: Callable[[float], None] = time.sleep):
        self.token_delay_s = token_delay_s
        self.sleep = sleep

    def _tokens(self, request: ChatRequest, spec: ModelSpec) -> tuple[list[bytes], str]:
        if request.max_tokens < 1:
            raise ProviderBadRequest("local: max_tokens must be at least 1")
        enc = encoding(spec.tokenizer)
        ids = enc.encode(reply_text(request.messages), disallowed_special=())
        finish_reason = "length" if len(ids) > request.max_tokens else "stop"
        return [enc.decode_bytes([i]) for i in ids[:request.max_tokens]], finish_reason

    def _usage(self, request: ChatRequest, spec: ModelSpec, text: str, reason: str) -> Usage:
        return Usage(input_tokens=count_messages(spec.tokenizer, request.messages,
                                                 image_tokens=spec.image_tokens),
                     output_tokens=count_text(spec.tokenizer, text), finish_reason=reason)

    def stream_chat(self, request: ChatRequest, spec: ModelSpec) -> Iterator[TextDelta | Usage]:
        pieces, finish_reason = self._tokens(request, spec)
        pending, sent = b"", []
        for index, piece in enumerate(pieces):
            if index and self.token_delay_s:
                self.sleep(self.token_delay_s)
            pending += piece
            try:
                text = pending.decode("utf-8")
            except UnicodeDecodeError:
                continue  # a character split across tokens: send it whole with the next one
            pending = b""
            sent.append(text)
            yield TextDelta(text)
        yield self._usage(request, spec, "".join(sent), finish_reason)

    def complete_chat(self, request: ChatRequest, spec: ModelSpec) -> tuple[str, Usage]:
        pieces, finish_reason = self._tokens(request, spec)
        text = b"".join(pieces).decode("utf-8", errors="ignore")
        return text, self._usage(request, spec, text, finish_reason)


class LocalVideo(VideoProvider):
    name = "local"

    def __init__(self, *, render_s: float, clock: Callable[[], float] = time.time) -> None:
        self.render_s = render_s
        self.clock = clock

    def create(self, request: VideoRequest, spec: ModelSpec) -> str:
        """`local-<start ms>-<random>-<seconds>`."""
        return f"local-{int(self.clock() * 1000)}-{uuid.uuid4().hex[:12]}-{request.seconds}"

    def _started_at_s(self, upstream_id: str) -> float:
        try:
            return int(upstream_id.split("-")[1]) / 1000
        except (IndexError, ValueError):
            raise ProviderBadRequest(f"local: no such video {upstream_id!r}") from None

    def poll(self, upstream_id: str) -> VideoStatus:
        elapsed_s = self.clock() - self._started_at_s(upstream_id)
        if self.render_s <= 0 or elapsed_s >= self.render_s:
            return VideoStatus(status="completed", progress_percent=100)
        percent = max(0, int(100 * elapsed_s / self.render_s))
        return VideoStatus(status="in_progress" if percent else "queued",
                           progress_percent=percent)

    def download(self, upstream_id: str, dest_path: Path) -> int:
        if self.poll(upstream_id).status != "completed":
            raise ProviderBadRequest(f"local: video {upstream_id} is not finished")
        clip = VIDEO_ASSET.read_bytes()
        seconds = _seconds(upstream_id)
        if seconds is not None:
            clip = with_duration_s(clip, seconds)
        return write_atomically(iter([clip]), dest_path)


def _seconds(upstream_id: str) -> int | None:
    """The seconds asked, from the id; None for an id made before they were kept there (the
    clip is then served as it is)."""
    parts = upstream_id.split("-")
    return int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None

"""The adapter interfaces: what every chat and video provider implements.

Adapters translate, they don't decide: one upstream call per method, vendor errors mapped to
`app.providers.errors`, no retries (the SDKs' own retries are turned off).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

from app.chat.events import TextDelta, Usage
from app.chat.request import ChatRequest
from app.providers.catalog import ModelSpec
from app.providers.types import VideoRequest, VideoStatus


class ChatProvider(ABC):
    name: str

    @abstractmethod
    def stream_chat(self, request: ChatRequest, spec: ModelSpec) -> Iterator[TextDelta | Usage]:
        """Text deltas, then one Usage. Closing the iterator closes the upstream stream.

        Raises ProviderUnavailable if the stream ends before the provider said it finished.
        """

    @abstractmethod
    def complete_chat(self, request: ChatRequest, spec: ModelSpec) -> tuple[str, Usage]:
        """The whole reply at once."""

    def count_input_tokens(self, request: ChatRequest, spec: ModelSpec,
                           timeout_s: float) -> int | None:
        """The provider's exact prompt count, where it offers one; None where it does not."""
        return None


class VideoProvider(ABC):
    name: str

    @abstractmethod
    def create(self, request: VideoRequest, spec: ModelSpec) -> str:
        """Start a render of `request` (its choices already checked against `spec`); return
        the provider's id for it."""

    @abstractmethod
    def poll(self, upstream_id: str) -> VideoStatus:
        """The render's status and progress, once (`refused` when a safety filter stopped
        it)."""

    @abstractmethod
    def download(self, upstream_id: str, dest_path: Path) -> int:
        """Write the finished file to `dest_path`; return its size in bytes."""


def write_atomically(chunks: Iterator[bytes], dest_path: Path) -> int:
    """Stream chunks to a temporary file beside `dest_path`, then rename it into place."""
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    partial = dest_path.with_name(dest_path.name + ".part")
    size = 0
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
        partial.replace(dest_path)
    finally:
        partial.unlink(missing_ok=True)
    return size

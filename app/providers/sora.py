"""Sora-2 video adapter on the `openai` SDK's videos API: create, retrieve, download content."""

from __future__ import annotations

from pathlib import Path

import openai

from app.providers.base import VideoProvider, write_atomically
from app.providers.openai_chat import mapped_errors
from app.providers.types import VideoStatus

STATUSES = {"queued": "queued", "in_progress": "in_progress", "completed": "completed",
            "failed": "failed"}
DOWNLOAD_CHUNK_BYTES = 256 * 1024


class SoraVideo(VideoProvider):
    name = "openai"

    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client

    def create(self, model: str, prompt: str, seconds: int, size: str) -> str:
        with mapped_errors():
            video = self.client.videos.create(model=model, prompt=prompt,  # type: ignore[arg-type]
                                              seconds=str(seconds),  # type: ignore[arg-type]
                                              size=size)  # type: ignore[arg-type]
        return video.id

    def poll(self, upstream_id: str) -> VideoStatus:
        with mapped_errors():
            video = self.client.videos.retrieve(upstream_id)
        status = STATUSES.get(video.status, "in_progress")
        error = None
        if video.error is not None:
            error = f"{video.error.code}: {video.error.message}"
        progress = 100 if status == "completed" else int(video.progress or 0)
        return VideoStatus(status=status, progress_percent=max(0, min(progress, 100)),  # type: ignore[arg-type]
                           error=error)

    def download(self, upstream_id: str, dest_path: Path) -> int:
        with mapped_errors(), self.client.videos.with_streaming_response.download_content(
                upstream_id, variant="video") as response:
            return write_atomically(response.iter_bytes(DOWNLOAD_CHUNK_BYTES), dest_path)

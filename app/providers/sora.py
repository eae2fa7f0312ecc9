"""Sora-2 video adapter on the `openai` SDK's videos API: create, retrieve, download content.

Sora takes a size ("WxH"), a length and a prompt, and a first frame as `input_reference` (an
image upload). A render its moderation blocked is reported `refused`."""

from __future__ import annotations

from pathlib import Path

import openai

from app.providers.base import VideoProvider, write_atomically
from app.providers.catalog import ModelSpec
from app.providers.openai_chat import mapped_errors
from app.providers.types import VideoRequest, VideoStatus
from app.providers.video import FIRST_FRAME_EXTENSIONS

STATUSES = {"queued": "queued", "in_progress": "in_progress", "completed": "completed",
            "failed": "failed"}
DOWNLOAD_CHUNK_BYTES = 256 * 1024
# error codes of a render OpenAI's safety system stopped
REFUSAL_CODES = frozenset({"moderation_blocked", "content_policy_violation"})


class SoraVideo(VideoProvider):
    name = "openai"

    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client

    def create(self, request: VideoRequest, spec: ModelSpec) -> str:
        extra = {}
        if request.size is not None:
            extra["size"] = request.size
        if request.first_frame is not None:
            frame = request.first_frame
            name = f"first_frame.{FIRST_FRAME_EXTENSIONS.get(frame.mime_type, 'png')}"
            extra["input_reference"] = (name, frame.data, frame.mime_type)
        with mapped_errors():
            video = self.client.videos.create(model=spec.id, prompt=request.prompt,  # type: ignore[arg-type]
                                              seconds=str(request.seconds),  # type: ignore[arg-type]
                                              **extra)  # type: ignore[arg-type]
        return video.id

    def poll(self, upstream_id: str) -> VideoStatus:
        with mapped_errors():
            video = self.client.videos.retrieve(upstream_id)
        status = STATUSES.get(video.status, "in_progress")
        error, refused = None, False
        if video.error is not None:
            error = f"{video.error.code}: {video.error.message}"
            refused = status == "failed" and video.error.code in REFUSAL_CODES
        progress = 100 if status == "completed" else int(video.progress or 0)
        return VideoStatus(status=status, progress_percent=max(0, min(progress, 100)),  # type: ignore[arg-type]
                           error=error, refused=refused)

    def download(self, upstream_id: str, dest_path: Path) -> int:
        with mapped_errors(), self.client.videos.with_streaming_response.download_content(
                upstream_id, variant="video") as response:
            return write_atomically(response.iter_bytes(DOWNLOAD_CHUNK_BYTES), dest_path)

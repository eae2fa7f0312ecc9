"""Video through the router: create on a chosen channel, poll with exponential backoff, download
into the hub's storage (`HUB_STORAGE_DIR`, a local directory by default)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from app.providers.errors import ProviderBadRequest, ProviderError, ProviderTimeout
from app.providers.types import VideoRequest, VideoStatus

if TYPE_CHECKING:
    from app.providers.channel import Channel
    from app.providers.routing import OnProvider, Router

log = structlog.get_logger(__name__)

DEFAULT_POLL_INITIAL_S = 2.0
DEFAULT_POLL_MAX_S = 20.0
DEFAULT_VIDEO_TIMEOUT_S = 1800.0
MAX_CONSECUTIVE_POLL_ERRORS = 5
ID_SEPARATOR = ":"


class RoutedVideo:
    """Create/poll/download for one model. Upstream ids are `<channel id>:<provider's id>`."""

    def __init__(self, router: Router, model: str, *, on_provider: OnProvider | None = None):
        self.router = router
        self.model = model
        self.on_provider = on_provider
        self.provider: str | None = None  # set by create()
        self.channel_id: str | None = None

    def create(self, request: VideoRequest) -> str:
        """Start the render on a channel the router picks; return the routed id."""
        def call(channel: Channel, spec) -> str:
            if channel.video is None:
                raise ProviderBadRequest(f"{channel.provider} does not make videos")
            upstream_id = channel.video.create(request, spec)
            self.provider, self.channel_id = channel.provider, channel.id
            return f"{channel.id}{ID_SEPARATOR}{upstream_id}"

        routed_id = self.router.serve(self.model, call, self.on_provider)
        log.info("video_created", model=self.model, channel=self.channel_id, upstream_id=routed_id)
        return routed_id

    def _resolve(self, routed_id: str) -> tuple[Channel, str]:
        channel_id, _, upstream_id = routed_id.partition(ID_SEPARATOR)
        channel = self.router.registry.channels.get(channel_id)
        if channel is None or channel.video is None or not upstream_id:
            raise ProviderBadRequest(f"no enabled channel holds video {routed_id!r}")
        return channel, upstream_id

    def poll(self, upstream_id: str) -> VideoStatus:
        channel, video_id = self._resolve(upstream_id)
        return channel.video.poll(video_id)  # type: ignore[union-attr]

    def download(self, upstream_id: str, dest_path: Path) -> int:
        """Write the finished video to `dest_path`; return its size in bytes."""
        channel, video_id = self._resolve(upstream_id)
        size = channel.video.download(video_id, Path(dest_path))  # type: ignore[union-attr]
        log.info("video_downloaded", upstream_id=upstream_id, path=str(dest_path), bytes=size)
        return size


def wait_for_video(provider: RoutedVideo, upstream_id: str, *,
                   on_progress: Callable[[int], None] | None = None,
                   timeout_s: float = DEFAULT_VIDEO_TIMEOUT_S,
                   initial_s: float = DEFAULT_POLL_INITIAL_S, max_s: float = DEFAULT_POLL_MAX_S,
                   sleep: Callable[[float], None] = time.sleep,
                   clock: Callable[[], float] = time.monotonic) -> VideoStatus:
    """Poll until the render completes or fails, doubling the delay up to `max_s`.

    Reports each new progress percentage. Retryable poll errors are tolerated up to
    MAX_CONSECUTIVE_POLL_ERRORS in a row; raises ProviderTimeout after `timeout_s`.
    """
    deadline = clock() + timeout_s
    delay, last_percent, errors = initial_s, -1, 0
    while True:
        try:
            status = provider.poll(upstream_id)
            errors = 0
        except ProviderError as exc:
            errors += 1
            if not exc.retryable or errors >= MAX_CONSECUTIVE_POLL_ERRORS:
                raise
            log.warning("video_poll_failed", upstream_id=upstream_id, error=exc.code)
        else:
            if status.progress_percent != last_percent and on_progress is not None:
                on_progress(status.progress_percent)
            last_percent = status.progress_percent
            if status.status in ("completed", "failed"):
                return status
        if clock() + delay > deadline:
            raise ProviderTimeout(f"the video was not ready after {timeout_s:.0f} s")
        sleep(delay)
        delay = min(delay * 2, max_s)


FIRST_FRAME_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def first_frame_path(name: str, mime_type: str) -> Path:
    """Where a video job's first frame is kept: beside its video,
    `<HUB_STORAGE_DIR>/videos/<name>.first-frame.<png|jpg|webp>`."""
    video = video_storage_path(name)
    return video.with_name(f"{name}.first-frame.{FIRST_FRAME_EXTENSIONS.get(mime_type, 'img')}")


def video_storage_path(name: str) -> Path:
    """Where a finished video is stored: `<HUB_STORAGE_DIR>/videos/<name>.mp4`."""
    from app.services.runtime import current_settings

    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"not a storage name: {name!r}")
    return Path(current_settings().HUB_STORAGE_DIR) / "videos" / f"{name}.mp4"

"""Google Veo video adapter on the official `google-genai` SDK (the Gemini Developer API).

The SDK version (pinned in requirements.txt) is 3.x, and the render is started with one plain
`predictLongRunning` call through the SDK's own API client, not `models.generate_videos`:
- 3.x refuses `models.generate_videos` on the Developer API (it is "only supported in Gemini
  Enterprise Agent Platform mode"); 2.34.0, the newest release whose `generate_videos` works
  there, refuses `generate_audio` on the Developer API, and Veo 3.x models price audio apart,
  so the hub must be able to ask for it or not;
- the call goes through the client's `_api_client.request`, the same path the SDK's own
  methods take: its key header, base URL, API version, timeout and error types (`APIError`)
  apply as to every other call. It is a private attribute, hence the exact pin; the tests
  against the fake Gemini API run the real SDK and catch a change;
- polling is the SDK's `operations.get`, the download its `files.download` (below).

Retries are off in the SDK (`attempts=1`): the router retries.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from app.config.channels import ChannelConfig
from app.providers.base import VideoProvider, write_atomically
from app.providers.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderTimeout,
    ProviderUnavailable,
)
from app.providers.sdk_errors import from_status
from app.providers.types import VideoStatus

if TYPE_CHECKING:
    from app.providers.catalog import ModelSpec
    from app.providers.types import VideoRequest

PROVIDER = "google"
API_VERSION = "v1beta"
REFUSED_ERROR = "the provider's safety filter refused the request"
# The id in a generated file's URI (`…/v1beta/files/{id}:download?alt=media`); the SDK's own
# parsing does the same, but only for https:// URIs.
FILE_ID = re.compile(r"/files/([a-z0-9]+)")
SIZE = re.compile(r"^(\d+)x(\d+)$")
RESOLUTIONS = {720: "720p", 1080: "1080p"}


def build_client(channel: ChannelConfig) -> genai.Client:
    """One client per channel (thread-safe, pooled), on the Developer API's v1beta."""
    timeout_s = channel.timeout_s or 60.0
    options = genai_types.HttpOptions(
        base_url=channel.base_url or None, api_version=API_VERSION,
        timeout=int(timeout_s * 1000),  # milliseconds
        retry_options=genai_types.HttpRetryOptions(attempts=1))
    return genai.Client(api_key=channel.api_key, vertexai=False, http_options=options)


@contextmanager
def mapped_errors() -> Iterator[None]:
    """The SDK's and its HTTP client's errors as the hub's."""
    try:
        yield
    except genai_errors.APIError as exc:
        message = exc.message or str(exc)
        if "API_KEY_INVALID" in _reasons(exc.details):
            # Google answers a wrong key with 400 INVALID_ARGUMENT: the channel's fault.
            raise ProviderAuthError(f"{PROVIDER}: {message}", upstream_status=exc.code) from exc
        headers = getattr(exc.response, "headers", None)
        raise from_status(exc.code, message, headers=headers, body=exc.details,
                          provider=PROVIDER) from exc
    except httpx2.TimeoutException as exc:
        raise ProviderTimeout(f"{PROVIDER}: the request timed out") from exc
    except httpx2.TransportError as exc:
        raise ProviderUnavailable(f"{PROVIDER}: connection failed ({type(exc).__name__})") \
            from exc


def _reasons(details: Any) -> set[str]:
    """The `ErrorInfo` reasons in a Google error body."""
    error = details.get("error", details) if isinstance(details, dict) else None
    if not isinstance(error, dict):
        return set()
    return {str(d.get("reason")) for d in error.get("details") or () if isinstance(d, dict)}


def request_body(request: VideoRequest) -> dict[str, Any]:
    """The `predictLongRunning` body for a hub video request."""
    instance: dict[str, Any] = {"prompt": request.prompt}
    if request.first_frame is not None:
        instance["image"] = {
            "bytesBase64Encoded": base64.b64encode(request.first_frame.data).decode("ascii"),
            "mimeType": request.first_frame.mime_type}
    aspect_ratio, resolution = _from_size(request.size)
    parameters: dict[str, Any] = {"durationSeconds": request.seconds}
    optional = {"aspectRatio": request.aspect_ratio or aspect_ratio,
                "resolution": request.resolution or resolution,
                "negativePrompt": request.negative_prompt,
                "generateAudio": request.audio}
    parameters.update({k: v for k, v in optional.items() if v is not None})
    return {"instances": [instance], "parameters": parameters}


def _from_size(size: str | None) -> tuple[str | None, str | None]:
    """A Sora-style "WxH" as Veo's aspect ratio ("1280x720" → "16:9") and resolution."""
    match = SIZE.match(size or "")
    if match is None:
        return None, None
    width, height = int(match[1]), int(match[2])
    divisor = math.gcd(width, height) or 1
    return f"{width // divisor}:{height // divisor}", RESOLUTIONS.get(min(width, height))


class VeoVideo(VideoProvider):
    name = PROVIDER

    def __init__(self, client: genai.Client) -> None:
        self.client = client

    def create(self, request: VideoRequest, spec: ModelSpec) -> str:
        """Start the render; the operation's name (`models/{model}/operations/{id}`) is its id."""
        with mapped_errors():
            response = self.client._api_client.request(
                "post", f"models/{spec.id}:predictLongRunning", request_body(request))
        name = json.loads(response.body or "{}").get("name")
        if not name:
            raise ProviderUnavailable(f"{PROVIDER}: predictLongRunning returned no operation")
        return str(name)

    def poll(self, upstream_id: str) -> VideoStatus:
        operation = self._operation(upstream_id)
        if not operation.done:  # a pending operation has no `done` field at all
            return VideoStatus(status="in_progress", progress_percent=_progress(operation))
        if operation.error:
            error = operation.error
            return VideoStatus(status="failed", progress_percent=100,
                               error=f"{error.get('code')}: {error.get('message')}")
        result = operation.response or operation.result
        if result is not None and result.rai_media_filtered_count:
            reasons = "; ".join(result.rai_media_filtered_reasons or ())
            return VideoStatus(status="failed", progress_percent=100, refused=True,
                               error=f"{REFUSED_ERROR}: {reasons}" if reasons else REFUSED_ERROR)
        if _video_uri(operation) is None:
            return VideoStatus(status="failed", progress_percent=100,
                               error=f"{PROVIDER}: the operation finished without a video")
        return VideoStatus(status="completed", progress_percent=100)

    def download(self, upstream_id: str, dest_path: Path) -> int:
        """Write the render's first video to `dest_path` (atomically); its size in bytes.

        The SDK's `files.download` takes the file id out of a `Video`'s URI only when the URI
        is https://, and then fetches `files/{id}:download` from the client's own base URL with
        its key. This passes `files/{id}` itself, so the same request is made whatever the
        URI's scheme (the fake Gemini API in tests serves http://), and a base URL set for a
        proxy is used for the download too. The file comes whole into memory: a Veo render is
        at most 8 seconds (megabytes, not gigabytes)."""
        uri = _video_uri(self._operation(upstream_id))
        match = FILE_ID.search(uri or "")
        if match is None:
            raise ProviderUnavailable(f"{PROVIDER}: the operation has no downloadable video")
        with mapped_errors():
            data = self.client.files.download(file=f"files/{match[1]}")
        return write_atomically(iter((data,)), dest_path)

    def _operation(self, upstream_id: str) -> genai_types.GenerateVideosOperation:
        if not upstream_id.startswith("models/"):
            raise ProviderBadRequest(f"{PROVIDER}: {upstream_id!r} is not a Veo operation")
        with mapped_errors():
            return self.client.operations.get(
                genai_types.GenerateVideosOperation(name=upstream_id))


def _progress(operation: genai_types.GenerateVideosOperation) -> int:
    """The vendor's progress where its metadata carries one; below 100 until done."""
    metadata = operation.metadata or {}
    value = metadata.get("progressPercent", metadata.get("progressPercentage", 0))
    try:
        return max(0, min(int(value), 99))
    except (TypeError, ValueError):
        return 0


def _video_uri(operation: genai_types.GenerateVideosOperation) -> str | None:
    result = operation.response or operation.result
    for generated in (result.generated_videos or []) if result is not None else []:
        if generated.video is not None and generated.video.uri:
            return generated.video.uri
    return None

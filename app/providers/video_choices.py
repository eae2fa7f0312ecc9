"""A video request checked against its model: every choice the user made must be one the
model's catalog entry lists, and the ones left out get the model's defaults.

Checked before any hold (`app.jobs.api.quote`), so an unsupported choice is a 400 naming the
field and costs nothing. A first frame arrives as a data URL (`data:image/png;base64,…`) and is
decoded here, size-limited.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace

from app.providers.catalog import ModelSpec
from app.providers.errors import InvalidModelRequest
from app.providers.types import VideoImage, VideoRequest

MAX_FIRST_FRAME_BYTES = 10 * 1024 * 1024  # decoded; the request body limit applies too
FIRST_FRAME_TYPES = ("image/png", "image/jpeg", "image/webp")
_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)", re.DOTALL)


class UnsupportedVideoChoice(InvalidModelRequest):
    """A video request's choice the model does not offer (a length, size, aspect ratio,
    resolution or option), or a first frame that is not a usable image."""

    http_status = 400
    code = "unsupported_video_option"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details={"field": field})
        self.field = field


def _listed(field: str, value: str | int | None, allowed: tuple, model_id: str) -> None:
    if value is None or value in allowed:
        return
    if not allowed:
        raise UnsupportedVideoChoice(field, f"{model_id} does not take a {field}")
    raise UnsupportedVideoChoice(field, f"{model_id} makes videos of "
                                 f"{', '.join(map(str, allowed))}")


def _option(field: str, given: bool, spec: ModelSpec) -> None:
    if given and field not in spec.video_options:
        raise UnsupportedVideoChoice(field, f"{spec.id} does not take a {field.replace('_', ' ')}"
                                     " (GET /api/models lists each model's video_options)")


def check_video_request(spec: ModelSpec, request: VideoRequest) -> VideoRequest:
    """`request` with the model's defaults filled in (the first size, aspect ratio and
    resolution it lists; audio on where the model makes audio); UnsupportedVideoChoice naming
    the first field the model does not take."""
    if spec.kind != "video":
        raise InvalidModelRequest(f"model: {spec.id} is a {spec.kind} model, not a video model")
    if request.seconds not in spec.video_seconds:
        allowed = ", ".join(str(s) for s in spec.video_seconds)
        raise UnsupportedVideoChoice("seconds", f"{spec.id} makes videos of {allowed} seconds")
    _listed("size", request.size, spec.video_sizes, spec.id)
    _listed("aspect_ratio", request.aspect_ratio, spec.video_aspect_ratios, spec.id)
    _listed("resolution", request.resolution, spec.video_resolutions, spec.id)
    _option("negative_prompt", bool(request.negative_prompt), spec)
    _option("audio", bool(request.audio), spec)
    _option("first_frame", request.first_frame is not None, spec)
    makes_audio = "audio" in spec.video_options
    return replace(
        request,
        size=request.size or (spec.video_sizes[0] if spec.video_sizes else None),
        aspect_ratio=request.aspect_ratio or _first(spec.video_aspect_ratios),
        resolution=request.resolution or _first(spec.video_resolutions),
        negative_prompt=request.negative_prompt or None,
        audio=(request.audio is not False) if makes_audio else None)


def _first(values: tuple[str, ...]) -> str | None:
    return values[0] if values else None


def image_from_data_url(url: str, *, field: str = "first_frame",
                        max_bytes: int = MAX_FIRST_FRAME_BYTES) -> VideoImage:
    """The image of a `data:<type>;base64,<data>` URL (PNG, JPEG or WebP, at most `max_bytes`
    decoded); UnsupportedVideoChoice naming `field` otherwise."""
    match = _DATA_URL.fullmatch(url.strip())
    if match is None:
        raise UnsupportedVideoChoice(field, "must be a data URL (data:image/png;base64,...)")
    mime = match["mime"].lower()
    if mime not in FIRST_FRAME_TYPES:
        raise UnsupportedVideoChoice(field, f"must be one of {', '.join(FIRST_FRAME_TYPES)}, "
                                     f"not {mime}")
    encoded = re.sub(r"\s+", "", match["data"])
    if len(encoded) * 3 // 4 > max_bytes + 3:
        raise UnsupportedVideoChoice(field, f"is larger than {max_bytes} bytes")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise UnsupportedVideoChoice(field, "is not valid base64") from None
    if not data or len(data) > max_bytes:
        raise UnsupportedVideoChoice(field, f"must be an image of 1 to {max_bytes} bytes")
    return VideoImage(mime_type=mime, data=data)

"""OpenAI's Videos API (Sora) on the wire: the create request in, the video object out.

A create arrives as the `openai` SDK sends it (multipart/form-data, `seconds` a string, the
first frame an uploaded `input_reference` file) or as JSON (`seconds` a string or an integer,
`input_reference` an object with a base64 `data:` URL in `image_url`). Every field is checked
here, by name; an unknown field is refused (400), as OpenAI does, rather than dropped: a video
is paid for by the second, and a parameter that silently did nothing would be paid for too.
The hub's own video options (`aspect_ratio`, `resolution`, `negative_prompt`, `audio`) are
accepted as extensions beside OpenAI's fields; whether a model takes them is the job core's
decision.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.models.jobs import Job
from app.wire.base import InvalidRequest

OPENAI_FIELDS = frozenset({"model", "prompt", "seconds", "size", "input_reference"})
HUB_OPTIONS = frozenset({"aspect_ratio", "resolution", "negative_prompt", "audio"})
DEFAULT_MODEL = "sora-2"  # OpenAI's default when `model` is left out
DEFAULT_SECONDS = 4  # OpenAI's default length
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
MAX_PROMPT_CHARS = 10_000  # as `POST /api/jobs`
STATUSES = {"queued": "queued", "running": "in_progress", "succeeded": "completed",
            "failed": "failed", "canceled": "failed"}
VIDEO_ID_PREFIX = "video_"
# OpenAI's sizes as the hub's aspect ratio and resolution, for models that take those instead
SIZE_SHAPES = {"1280x720": ("16:9", "720p"), "720x1280": ("9:16", "720p"),
               "1920x1080": ("16:9", "1080p"), "1080x1920": ("9:16", "1080p")}


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its declared type and its bytes."""

    mime_type: str
    data: bytes


@dataclass(frozen=True)
class VideoCreate:
    """A create request in the hub's terms (`seconds` None: the model's default)."""

    model: str
    prompt: str
    seconds: int | None
    size: str | None
    first_frame: Upload | None = None
    options: dict[str, Any] = field(default_factory=dict)  # HUB_OPTIONS given


def parse_create(fields: dict[str, Any], files: dict[str, Upload]) -> VideoCreate:
    """The create request from its fields (form or JSON values) and uploaded files."""
    unknown = sorted((set(fields) | set(files)) - OPENAI_FIELDS - HUB_OPTIONS)
    if unknown:
        raise InvalidRequest(f"{unknown[0]}: unknown parameter")
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("prompt: required (a non-empty string)")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidRequest(f"prompt: at most {MAX_PROMPT_CHARS} characters")
    model = fields.get("model", DEFAULT_MODEL)
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: must be a model id")
    size = fields.get("size")
    if size is not None and not isinstance(size, str):
        raise InvalidRequest("size: must be a string such as 1280x720")
    return VideoCreate(model=model, prompt=prompt, seconds=_seconds(fields.get("seconds")),
                       size=size or None,
                       first_frame=files.get("input_reference")
                       or _reference(fields.get("input_reference")),
                       options=_options(fields))


def _seconds(value: Any) -> int | None:
    """OpenAI sends a string ("4"); an integer is taken too."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRequest("seconds: must be a whole number of seconds, such as \"4\"")
    return value


def _reference(value: Any) -> Upload | None:
    """`input_reference` as JSON: `{"image_url": "data:image/png;base64,..."}`. The hub reads
    no URL on a caller's behalf and keeps no files, so a web URL or a `file_id` is refused."""
    if value is None:
        return None
    if isinstance(value, str):  # a form field holding JSON
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidRequest("input_reference: upload an image file, or send "
                                 "{\"image_url\": \"data:image/...;base64,...\"}") from None
    if not isinstance(value, dict) or not isinstance(value.get("image_url"), str):
        raise InvalidRequest("input_reference: only an uploaded image or an image_url data URL "
                             "is supported (no file_id)")
    header, _, payload = value["image_url"].partition(",")
    mime_type = header.removeprefix("data:").removesuffix(";base64")
    if not header.startswith("data:") or not header.endswith(";base64"):
        raise InvalidRequest("input_reference.image_url: must be a base64 data: URL")
    try:
        return Upload(mime_type=mime_type, data=base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        raise InvalidRequest("input_reference.image_url: not valid base64") from None


def check_image(upload: Upload) -> Upload:
    if upload.mime_type not in IMAGE_TYPES:
        raise InvalidRequest(f"input_reference: must be one of {', '.join(IMAGE_TYPES)}")
    if not upload.data:
        raise InvalidRequest("input_reference: the image is empty")
    return upload


def _options(fields: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name in ("aspect_ratio", "resolution", "negative_prompt"):
        value = fields.get(name)
        if value is not None:
            if not isinstance(value, str) or not value:
                raise InvalidRequest(f"{name}: must be a non-empty string")
            options[name] = value
    audio = fields.get("audio")
    if audio is not None:
        if isinstance(audio, str) and audio in ("true", "false"):  # a form field
            audio = audio == "true"
        if not isinstance(audio, bool):
            raise InvalidRequest("audio: must be true or false")
        options["audio"] = audio
    return options


def job_id_of(video_id: str) -> str:
    """The hub job behind a video id (`video_<job id>`; a bare job id is taken too)."""
    return video_id.removeprefix(VIDEO_ID_PREFIX)


def video_id_of(job_id: str) -> str:
    return VIDEO_ID_PREFIX + job_id


def _unix(value: datetime | None) -> int | None:
    return calendar.timegm(value.utctimetuple()) if value else None


def _size(request: dict[str, Any]) -> str | None:
    if request.get("size"):
        return request["size"]
    shape = (request.get("aspect_ratio"), request.get("resolution") or "720p")
    return next((size for size, s in SIZE_SHAPES.items() if s == shape), None)


def video_object(job: Job, *, progress_percent: int) -> dict[str, Any]:
    """OpenAI's video object for a video job, with the hub's hold and charge beside it
    (`cost_credits` null until the job is settled; the SDK keeps unknown fields)."""
    request = json.loads(job.request_json or "{}")
    status = STATUSES[job.status]
    terminal = status in ("completed", "failed")
    error = None
    if status == "failed":
        error = {"code": job.error_code or job.status,
                 "message": job.error_message or f"the video job was {job.status}"}
    return {
        "id": video_id_of(job.id), "object": "video", "model": job.model, "status": status,
        "progress": 100 if status == "completed" else progress_percent,
        "created_at": _unix(job.created_at),
        "completed_at": _unix(job.finished_at) if terminal else None,
        "expires_at": None,  # the hub sets no expiry on stored videos
        "prompt": request.get("prompt"), "seconds": str(job.video_seconds or 0),
        "size": _size(request), "error": error, "remixed_from_video_id": None,
        "hold_credits": job.hold_credits,
        "cost_credits": job.cost_credits if terminal else None,
    }

"""OpenAI-compatible videos: POST /v1/videos, GET /v1/videos, GET /v1/videos/<id> and
GET /v1/videos/<id>/content, for a client written for OpenAI's Videos API (Sora) to use any
video model the hub offers.

Same path as every video job (`POST /api/jobs`): hold the requested seconds → job → a worker
renders it → settle. The request and the video object are translated in `app.wire.openai_videos`;
a video's id is `video_<job id>` (a bare job id is accepted too). Errors are OpenAI's shape
(`app.errors`): a refused parameter is 400, a short balance or a key's cap 402, another user's
video 404, a video not finished 404 on its content (as OpenAI answers).
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, File, Integer, Nested, String
from flask import Response, request, send_file

from app.blueprints.compat_common import caller, json_body
from app.blueprints.request_scope import current_request_scope
from app.jobs import api as jobs
from app.jobs.videos import get_video_job, progress_percent, video_file
from app.providers.catalog import ModelSpec
from app.providers.errors import InvalidModelRequest
from app.providers.types import VideoImage
from app.security import current_principal, require_auth
from app.services.cursors import encode_cursor
from app.services.prices import catalog
from app.wire.base import InvalidRequest
from app.wire.openai_videos import (
    DEFAULT_SECONDS,
    SIZE_SHAPES,
    Upload,
    VideoCreate,
    check_image,
    job_id_of,
    parse_create,
    video_id_of,
    video_object,
)

bp = APIBlueprint("videos_compat", __name__, url_prefix="/v1", tag="OpenAI-compatible")

DEFAULT_LIST_LIMIT = 20
MAX_LIST_LIMIT = 100


class VideoCreateIn(Schema):
    prompt = String(required=True)
    model = String(metadata={"description": "a video model id (default sora-2)"})
    seconds = String(metadata={"description": "the length, a string such as \"4\" (an integer "
                                              "in JSON too); default 4"})
    size = String(metadata={"description": "WIDTHxHEIGHT, one the model makes"})
    input_reference = File(metadata={"description": "the first frame (png, jpeg or webp), "
                                                    "for models that take one"})
    aspect_ratio = String(metadata={"description": "hub extension, for models that take it"})
    resolution = String(metadata={"description": "hub extension, for models that take it"})
    negative_prompt = String(metadata={"description": "hub extension, for models that take it"})
    audio = Boolean(metadata={"description": "hub extension, for models that take it"})


class VideoErrorOut(Schema):
    code = String()
    message = String()


class VideoOut(Schema):
    id = String()
    object = String()
    model = String()
    status = String()
    progress = Integer()
    created_at = Integer()
    completed_at = Integer(allow_none=True)
    expires_at = Integer(allow_none=True)
    prompt = String(allow_none=True)
    seconds = String()
    size = String(allow_none=True)
    error = Nested(VideoErrorOut, allow_none=True)
    remixed_from_video_id = String(allow_none=True)
    hold_credits = Integer()
    cost_credits = Integer(allow_none=True)


class VideoListQuery(Schema):
    after = String(metadata={"description": "a video id: the page after it"})
    limit = String(metadata={"description": f"1 to {MAX_LIST_LIMIT} (default "
                                            f"{DEFAULT_LIST_LIMIT})"})
    order = String(metadata={"description": "desc (newest first; the only order)"})


class VideoListOut(Schema):
    object = String()
    data = Nested(VideoOut, many=True)
    first_id = String(allow_none=True)
    last_id = String(allow_none=True)
    has_more = Boolean()


class ContentQuery(Schema):
    variant = String(metadata={"description": "video (the only variant the hub stores)"})


def _request_fields() -> tuple[dict[str, Any], dict[str, Upload]]:
    """The body as the SDK sends it (multipart form) or as JSON."""
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        uploads = {name: Upload(mime_type=part.mimetype, data=part.read())
                   for name, part in request.files.items()}
        return request.form.to_dict(), uploads
    return json_body(), {}


def video_spec(create: VideoCreate) -> jobs.VideoSpec:
    """The job core's spec of a create request (the core checks each choice against the
    model before any hold)."""
    model = catalog.model_spec(create.model)
    size, options = create.size, dict(create.options)
    if size is not None and not model.video_sizes and size in SIZE_SHAPES \
            and "aspect_ratio" not in options:  # an OpenAI size for an aspect-ratio model
        options["aspect_ratio"], options["resolution"] = SIZE_SHAPES[size]
        size = None
    if create.first_frame is not None:
        options["first_frame"] = _first_frame(create.first_frame, model)
    seconds = create.seconds
    if seconds is None:
        seconds = DEFAULT_SECONDS if DEFAULT_SECONDS in model.video_seconds or \
            not model.video_seconds else model.video_seconds[0]
    return jobs.VideoSpec(model=create.model, prompt=create.prompt, seconds=seconds, size=size,
                          **options)


def _first_frame(upload: Upload, model: ModelSpec) -> VideoImage:
    """The first frame as the job core takes it, for a model that takes one."""
    if "first_frame" not in model.video_options:
        raise InvalidRequest("input_reference: not supported by this model")
    image = check_image(upload)
    return VideoImage(mime_type=image.mime_type, data=image.data)


@bp.post("/videos")
@require_auth(api_key=True, verified=True, reuse_key=True)
@bp.input(VideoCreateIn, location="form_and_files", validation=False)
@bp.output(VideoOut)
@bp.doc(summary="OpenAI-compatible video create (multipart form or JSON); holds its seconds",
        description="Renders like `POST /api/jobs` {type: video}: the requested seconds are "
                    "held, a worker renders the video, the job is settled. Poll "
                    "`GET /v1/videos/{video_id}`; download from its `/content`.",
        responses=[200, 400, 401, 402, 403, 404, 429, 503])
def create_video(form_and_files_data: Any = None) -> dict:
    create = parse_create(*_request_fields())
    user, api_key = caller()
    try:
        job = jobs.create_job(user, video_spec(create), api_key=api_key, source="openai",
                              scope=current_request_scope())
    except (InvalidModelRequest, jobs.WrongModelKind) as exc:  # OpenAI: 400 for a bad value
        raise InvalidRequest(exc.message) from exc
    return video_object(job, progress_percent=0)


@bp.get("/videos")
@require_auth(api_key=True)
@bp.input(VideoListQuery, location="query", validation=False)
@bp.output(VideoListOut)
@bp.doc(summary="Your videos, newest first (OpenAI's list shape; `after` a video id)",
        responses=[200, 400, 404])
def list_videos(query_data: Any = None) -> dict:
    """Checked here rather than by the schema: a bad value is OpenAI's 400, not a 422."""
    user, args = current_principal().user, request.args
    if args.get("order", "desc") != "desc":
        raise InvalidRequest("order: only desc (newest first) is supported")
    limit = args.get("limit", str(DEFAULT_LIST_LIMIT))
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIST_LIMIT:
        raise InvalidRequest(f"limit: a whole number from 1 to {MAX_LIST_LIMIT}")
    cursor = None
    if args.get("after"):
        after = get_video_job(job_id_of(args["after"]), user=user)
        cursor = encode_cursor(after.created_at, after.id)
    rows, next_cursor = jobs.list_jobs(user, cursor=cursor, limit=int(limit), job_type="video")
    data = [video_object(job, progress_percent=progress_percent(job)) for job in rows]
    return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": next_cursor is not None}


@bp.get("/videos/<video_id>")
@require_auth(api_key=True)
@bp.output(VideoOut)
@bp.doc(summary="One video: status, progress, the hub's hold and charge, or its error",
        responses=[200, 404])
def retrieve_video(video_id: str) -> dict:
    job = get_video_job(job_id_of(video_id), user=current_principal().user)
    return video_object(job, progress_percent=progress_percent(job))


@bp.get("/videos/<video_id>/content")
@require_auth(api_key=True)
@bp.input(ContentQuery, location="query", validation=False)
@bp.doc(summary="Download a finished video (the MP4; `variant=video` only)",
        responses=[200, 400, 404])
def video_content(video_id: str, query_data: Any = None) -> Response:
    variant = request.args.get("variant", "video")
    if variant != "video":
        raise InvalidRequest(f"variant: {variant!r} is not available (only video)")
    job, path = video_file(job_id_of(video_id), user=current_principal().user)
    return send_file(path, mimetype="video/mp4", as_attachment=True,
                     download_name=f"{video_id_of(job.id)}.mp4")

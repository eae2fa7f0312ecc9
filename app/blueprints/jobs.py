"""The job API: quote, create, read, list, cancel, download."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import Response, send_file
from marshmallow import ValidationError, validates_schema

from app.blueprints.request_scope import current_request_scope
from app.jobs import api as jobs
from app.jobs.api import ChatSpec, VideoSpec
from app.jobs.videos import video_file
from app.models.base import INTEGER_MAX
from app.models.jobs import JOB_TYPES, QUEUED_JOB_TYPES, TERMINAL_STATUSES, Job
from app.providers.video_choices import MAX_FIRST_FRAME_BYTES, image_from_data_url
from app.security import current_principal, require_auth

bp = APIBlueprint("jobs", __name__, url_prefix="/api/jobs", tag="Jobs")


class MessageIn(Schema):
    role = String(required=True, validate=OneOf(["system", "user", "assistant"]))
    content = String(required=True, validate=Length(max=1_000_000))


class JobIn(Schema):
    type = String(required=True, validate=OneOf(QUEUED_JOB_TYPES))
    model = String(required=True, validate=Length(min=1, max=100))
    messages = List(Nested(MessageIn), validate=Length(min=1, max=1000))
    max_tokens = Integer(validate=Range(min=1, max=INTEGER_MAX))
    temperature = Float(validate=Range(min=0, max=2))
    top_p = Float(validate=Range(min=0, max=1))
    stop = List(String(validate=Length(min=1, max=200)), validate=Length(max=4))
    prompt = String(validate=Length(min=1, max=10_000))
    seconds = Integer(validate=Range(min=1, max=60))
    size = String(validate=Length(min=3, max=20))
    aspect_ratio = String(validate=Length(min=3, max=10),
                          metadata={"description": "video: W:H, for models that list "
                                                   "video_aspect_ratios"})
    resolution = String(validate=Length(min=2, max=10),
                        metadata={"description": "video: e.g. 720p, from video_resolutions"})
    negative_prompt = String(validate=Length(max=10_000),
                             metadata={"description": "video: what the video must not show"})
    audio = Boolean(metadata={"description": "video: make audio (models with the audio "
                                             "option; on unless false)"})
    first_frame = String(validate=Length(max=MAX_FIRST_FRAME_BYTES * 4 // 3 + 100), metadata={
        "description": "video: the first frame, a data URL (data:image/png;base64,...), "
                       f"PNG, JPEG or WebP of at most {MAX_FIRST_FRAME_BYTES} bytes"})

    @validates_schema
    def _fields_for_type(self, data: dict, **_: object) -> None:
        if data.get("type") == "chat" and not data.get("messages"):
            raise ValidationError("chat jobs need messages", "messages")
        if data.get("type") == "video":
            for name in ("prompt", "seconds"):
                if data.get(name) is None:
                    raise ValidationError(f"video jobs need {name}", name)


class JobCreatedOut(Schema):
    id = String()
    status = String()
    stream_url = String()
    hold_credits = Integer()


class QuoteOut(Schema):
    model = String()
    hold_credits = Integer()
    price = Dict()
    input_tokens = Integer()
    max_tokens = Integer()


class ErrorOut(Schema):
    code = String()
    message = String()


class JobOut(Schema):
    id = String()
    type = String()
    status = String()
    model = String()
    provider = String(allow_none=True)
    created_at = String()
    started_at = String(allow_none=True)
    finished_at = String(allow_none=True)
    hold_credits = Integer()
    cost_credits = Integer(allow_none=True)
    usage = Dict()
    result = Dict(allow_none=True)
    error = Nested(ErrorOut, allow_none=True)
    stream_url = String()


class JobListQuery(Schema):
    cursor = String()
    limit = Integer(load_default=20, validate=Range(min=1, max=100))
    status = String(validate=OneOf(("queued", "running", *TERMINAL_STATUSES)))
    type = String(validate=OneOf(JOB_TYPES))


class JobListOut(Schema):
    items = List(Nested(JobOut))
    next_cursor = String(allow_none=True)


def spec_from(data: dict) -> ChatSpec | VideoSpec:
    if data["type"] == "chat":
        return ChatSpec(model=data["model"], messages=data["messages"],
                        max_tokens=data.get("max_tokens"), temperature=data.get("temperature"),
                        top_p=data.get("top_p"), stop=data.get("stop"))
    frame = data.get("first_frame")
    return VideoSpec(model=data["model"], prompt=data["prompt"], seconds=data["seconds"],
                     size=data.get("size"), aspect_ratio=data.get("aspect_ratio"),
                     resolution=data.get("resolution"),
                     negative_prompt=data.get("negative_prompt"), audio=data.get("audio"),
                     first_frame=image_from_data_url(frame) if frame else None)


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value else None


def job_view(job: Job) -> dict:
    terminal = job.status in TERMINAL_STATUSES
    if job.type != "video":  # chat and embeddings count tokens; only chat has a text
        usage = {"input_tokens": job.input_tokens or 0, "output_tokens": job.output_tokens or 0}
        result = {"text": job.result_text} if terminal and job.result_text is not None else None
    else:
        usage = {"seconds": job.video_seconds or 0}
        result = {"content_url": f"/api/jobs/{job.id}/content", "bytes": job.content_bytes} \
            if terminal and job.content_path else None
    return {
        "id": job.id, "type": job.type, "status": job.status, "model": job.model,
        "provider": job.provider, "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at), "finished_at": _iso(job.finished_at),
        "hold_credits": job.hold_credits, "cost_credits": job.cost_credits if terminal else None,
        "usage": usage, "result": result, "stream_url": f"/ws/jobs/{job.id}",
        "error": {"code": job.error_code, "message": job.error_message}
        if terminal and job.error_code else None,
    }


@bp.post("/quote")
@require_auth(api_key=True)
@bp.input(JobIn, arg_name="data")
@bp.output(QuoteOut)
@bp.doc(summary="The hold a job would place and its price basis, without running it",
        responses=[200, 400, 404, 422])
def quote_job(data: dict) -> dict:
    q = jobs.quote(spec_from(data))
    return {"model": data["model"], "hold_credits": q.hold_credits, "price": q.basis,
            "input_tokens": q.input_tokens, "max_tokens": q.max_tokens}


@bp.post("")
@require_auth(api_key=True, verified=True, reuse_key=True)
@bp.input(JobIn, arg_name="data")
@bp.output(JobCreatedOut, status_code=202)
@bp.doc(summary="Create a chat or video job (holds its worst-case price first)",
        responses=[202, 400, 402, 403, 404, 422])
def create_job(data: dict) -> dict:
    principal = current_principal()
    job = jobs.create_job(principal.user, spec_from(data), api_key=principal.api_key,
                          scope=current_request_scope())
    return {"id": job.id, "status": job.status, "stream_url": f"/ws/jobs/{job.id}",
            "hold_credits": job.hold_credits}


@bp.get("")
@require_auth(api_key=True)
@bp.input(JobListQuery, location="query", arg_name="query")
@bp.output(JobListOut)
@bp.doc(summary="Your jobs, newest first", responses=[200, 400, 422])
def list_jobs(query: dict) -> dict:
    rows, next_cursor = jobs.list_jobs(current_principal().user, cursor=query.get("cursor"),
                                       limit=query["limit"], status=query.get("status"),
                                       job_type=query.get("type"))
    return {"items": [job_view(j) for j in rows], "next_cursor": next_cursor}


@bp.get("/<job_id>")
@require_auth(api_key=True)
@bp.output(JobOut)
@bp.doc(summary="One job: status, usage, cost, result or error", responses=[200, 404])
def get_job(job_id: str) -> dict:
    return job_view(jobs.get_job(job_id, user=current_principal().user))


@bp.post("/<job_id>/cancel")
@require_auth(api_key=True)
@bp.output(JobOut)
@bp.doc(summary="Cancel a job; only delivered output is charged",
        description="Only the job's owner or an admin may cancel it (an admin's cancel of "
                    "another user's job is audited); support staff get 403.",
        responses=[200, 403, 404, 409])
def cancel_job(job_id: str) -> dict:
    return job_view(jobs.cancel_job(job_id, user=current_principal().user))


@bp.get("/<job_id>/content")
@require_auth(api_key=True)
@bp.doc(summary="Download a finished video", responses=[200, 404])
def job_content(job_id: str) -> Response:
    job, path = video_file(job_id, user=current_principal().user)
    return send_file(path, mimetype="video/mp4", as_attachment=True,
                     download_name=f"{job.id}.mp4")

"""The job API: quote, create (hold first, then enqueue), read, list and cancel.

A job runs on one of two executors. `queue`: a Dramatiq worker claims it from its message
(`app.jobs.runs.worker`). `web`: the `/v1` endpoints create a chat job already claimed by the
web thread that serves the caller, which runs it while it answers (`app.jobs.runs.web`); its
events still go to the job's stream for any other watcher.

The hold and the job's row are placed in one step (`app.jobs.opening`), which also handles a
caller whose reused API key read turns out stale.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import structlog

from app.chat.record import tools_from_record
from app.errors import Conflict, HubError, NotFound, ServiceUnavailable
from app.jobs import store
from app.jobs.cancellation import cancel_flags
from app.jobs.opening import open_job
from app.jobs.request_scope import RequestScope
from app.jobs.runs import send_run
from app.jobs.runs.ending import cancel_queued
from app.models.api_keys import ApiKey
from app.models.base import utcnow
from app.models.jobs import ACTIVE_STATUSES, Job, new_job_id
from app.models.users import User
from app.providers.embedding import EmbeddingInput, inputs_of
from app.providers.types import VideoImage, VideoRequest
from app.providers.video import first_frame_path
from app.providers.video_choices import check_video_request
from app.security.authenticate import has_role
from app.security.errors import Forbidden
from app.services import audit
from app.services.cursors import decode_cursor, encode_cursor
from app.services.embedding_pricing import quote_embedding
from app.services.prices import catalog, pricing
from app.services.prices.history import StalePrice, forget_price
from app.services.runtime import current_events, current_settings

log = structlog.get_logger(__name__)


class JobNotFound(NotFound):
    """No such job."""

    code = "job_not_found"


class JobAlreadyFinished(Conflict):
    """The job has already finished."""

    code = "job_finished"


class JobCancelForbidden(Forbidden):
    """Only the job's owner or an admin may cancel it: support staff read other users' jobs
    but may not cancel them (a cancel bills the owner for what was generated)."""

    code = "job_cancel_forbidden"


class MissingCapability(HubError):
    """The request uses something the model cannot do (tools, images, structured output,
    reasoning)."""

    http_status = 400
    code = "unsupported_capability"


class WrongModelKind(HubError):
    """This model cannot run this kind of job."""

    http_status = 422
    code = "wrong_model_kind"


@dataclass(frozen=True)
class ChatSpec:
    model: str
    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    # the request's other choices, stored beside its messages (`app.chat.record`)
    options: dict[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()  # the capabilities the model must have (`ChatRequest.needs`)
    type: str = field(default="chat", init=False)


@dataclass(frozen=True)
class VideoSpec:
    """A video request: the user's choices (`VideoRequest`'s fields). The first frame is kept
    in the hub's storage beside the video, never in the job's row."""

    model: str
    prompt: str
    seconds: int
    size: str | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    negative_prompt: str | None = None
    audio: bool | None = None
    first_frame: VideoImage | None = None
    type: str = field(default="video", init=False)

    def request(self) -> VideoRequest:
        """The request as the adapters take it, before the model's defaults."""
        return VideoRequest(model=self.model, prompt=self.prompt, seconds=self.seconds,
                            size=self.size, aspect_ratio=self.aspect_ratio,
                            resolution=self.resolution, negative_prompt=self.negative_prompt,
                            audio=self.audio, first_frame=self.first_frame)


@dataclass(frozen=True)
class EmbeddingSpec:
    """An embeddings request (`/v1/embeddings`): run by the web thread serving it, never
    queued. Its row keeps the parameters, not the inputs (`_new_job`)."""

    model: str
    input: EmbeddingInput
    encoding_format: str = "float"
    dimensions: int | None = None
    type: str = field(default="embedding", init=False)


JobSpec = ChatSpec | VideoSpec | EmbeddingSpec


@dataclass(frozen=True)
class Quote:
    hold_credits: int
    price_id: int
    basis: dict[str, Any]
    input_tokens: int = 0
    max_tokens: int = 0
    price_stamp: str = ""


def quote(spec: JobSpec, *, reuse_price: bool = False) -> Quote:
    """The hold a request would place and the prices it is based on; nothing is reserved.
    `reuse_price`: at the price this process read lately (a job's quote: its open re-checks)."""
    model = catalog.model_spec(spec.model)
    if model.kind != spec.type:
        raise WrongModelKind(f"model {spec.model!r} is a {model.kind} model, not {spec.type}")
    if isinstance(spec, ChatSpec):
        lacking = [need for need in spec.needs if not model.supports(need)]
        if lacking:
            raise MissingCapability(f"model {spec.model!r} does not support "
                                    f"{', '.join(lacking)} (GET /v1/models lists what each "
                                    "model supports)")
        q = pricing.quote_chat(spec.model, spec.messages,
                               spec.max_tokens or model.max_output_tokens,
                               reuse_price=reuse_price,
                               tools=tools_from_record(spec.options.get("tools")),
                               choices=spec.options.get("n", 1))
        return Quote(hold_credits=q.hold_credits, price_id=q.price_id, input_tokens=q.input_tokens,
                     max_tokens=q.max_output_tokens, price_stamp=q.price_stamp,
                     basis={"input_per_mtok_credits": q.input_per_mtok_credits,
                            "output_per_mtok_credits": q.output_per_mtok_credits})
    if isinstance(spec, EmbeddingSpec):
        eq = quote_embedding(spec.model, spec.input, spec.dimensions, reuse_price=reuse_price)
        return Quote(hold_credits=eq.hold_credits, price_id=eq.price_id,
                     input_tokens=eq.input_tokens, price_stamp=eq.price_stamp,
                     basis={"input_per_mtok_credits": eq.input_per_mtok_credits})
    checked = check_video_request(model, spec.request())  # every choice, before any hold
    vq = pricing.video_quote(spec.model, checked.seconds, checked.size, audio=checked.audio,
                             reuse_price=reuse_price)
    return Quote(hold_credits=vq.hold_credits, price_id=vq.price_id, price_stamp=vq.price_stamp,
                 basis={"per_second_credits": vq.per_second_credits, "audio": vq.audio})


EXECUTORS = ("queue", "web")
PRICE_ATTEMPTS = 3  # quotes of one job request whose price changed before its hold


def create_job(user: User, spec: JobSpec, *, api_key: ApiKey | None = None,
               source: str = "api", executor: str = "queue",
               scope: RequestScope | None = None) -> Job:
    """Hold the worst-case price, record the job and enqueue it; 402 and nothing queued if short.

    `api_key` (the caller's, if it came with one) must allow the spend; the hold counts against
    its caps. With `executor="web"` (chat; embeddings only run so) the job is recorded already claimed by the
    caller, which must run it at once (`app.jobs.runs.web.adopt` then `execute_chat`); nothing
    is enqueued. `scope`: the request this job is opened for (its writes go through it).
    """
    if executor not in EXECUTORS or (executor == "web" and isinstance(spec, VideoSpec)) or \
            (executor == "queue" and isinstance(spec, EmbeddingSpec)):
        raise ValueError(f"no {executor!r} executor for {spec.type} jobs")
    writer = scope.pending_writes() if scope is not None else None
    for attempt in range(PRICE_ATTEMPTS):
        q = quote(spec, reuse_price=True)  # after StalePrice: read again (and kept again)
        job = _new_job(user, spec, q, api_key=api_key, source=source, executor=executor)
        try:
            user, api_key = open_job(job, user=user, api_key=api_key, price_stamp=q.price_stamp,
                                  writer=writer)
            break
        except StalePrice:  # the price changed since it was read: quote it again
            log.info("job_price_stale", model=spec.model, attempt=attempt)
            forget_price(spec.model)
    else:
        raise ServiceUnavailable(f"the price of {spec.model} keeps changing; try again")
    if isinstance(spec, VideoSpec) and spec.first_frame is not None:
        _save_first_frame(job, spec.first_frame)
    if executor == "queue":
        _enqueue(job)
    log.info("job_created", job_id=job.id, type=spec.type, model=spec.model,
             hold_credits=q.hold_credits, executor=executor)
    return job


def _new_job(user: User, spec: JobSpec, q: Quote, *, api_key: ApiKey | None, source: str,
             executor: str) -> Job:
    """The job's row as `store.open_job` inserts it (not saved)."""
    if isinstance(spec, EmbeddingSpec):  # the inputs are the caller's data: only their count
        request: dict[str, Any] = {"model": spec.model, "inputs": len(inputs_of(spec.input)),
                                   "encoding_format": spec.encoding_format,
                                   "dimensions": spec.dimensions}
    elif isinstance(spec, VideoSpec):
        request = video_record(check_video_request(catalog.model_spec(spec.model),
                                                   spec.request()))
    else:
        request = asdict(spec)
        for name in ("type", "needs"):
            request.pop(name, None)
        request.update(request.pop("options", {}))
    if isinstance(spec, ChatSpec):
        request["max_tokens"] = q.max_tokens
    now = utcnow()
    job = Job(id=new_job_id(), user=user.id, api_key_id=api_key.id if api_key else None,
              type=spec.type, model=spec.model, request_json=json.dumps(request),
              price_id=q.price_id, hold_credits=q.hold_credits,
              prompt_tokens_estimate=q.input_tokens, source=source, executor=executor,
              status="queued", attempts=0,
              video_seconds=spec.seconds if isinstance(spec, VideoSpec) else None,
              created_at=now, enqueued_at=now)
    if executor == "web":  # claimed by this thread from the start, under the usual lease
        job.status, job.worker_token, job.started_at, job.attempts = \
            "running", uuid.uuid4().hex, now, 1
        job.lease_expires_at = now + timedelta(seconds=current_settings().HUB_JOB_LEASE_S)
    return job


def video_record(request: VideoRequest) -> dict[str, Any]:
    """A video request as its job's row keeps it: the choices, and of the first frame only its
    type and size (the image is in storage, `first_frame_path`)."""
    record = asdict(request)
    frame = request.first_frame
    record["first_frame"] = None if frame is None else {"mime_type": frame.mime_type,
                                                        "bytes": len(frame.data)}
    return record


def _save_first_frame(job: Job, frame: VideoImage) -> None:
    """Write the first frame beside the job's video; if the storage refuses, take the job
    back (nothing held, nothing queued)."""
    path = first_frame_path(job.id, frame.mime_type)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(frame.data)
    except OSError as exc:
        store.undo_open(job)
        log.error("job_first_frame_not_saved", job_id=job.id, error=str(exc))
        raise ServiceUnavailable("the hub's storage is unavailable; nothing was charged") from exc


def _enqueue(job: Job) -> None:
    """Announce the job on its event stream and send its message; if either refuses (Redis or
    the broker down), take the job back (503, nothing held): left queued without a message,
    it would run minutes later (the reaper's resend) for a caller told it had failed."""
    try:
        current_events().append(job.id, "status", {"status": "queued"})
        send_run(job.type, job.id)
    except Exception as exc:  # noqa: BLE001 — undo the hold, then report the queue as down
        store.undo_open(job)
        log.error("job_enqueue_failed", job_id=job.id, error=str(exc))
        raise ServiceUnavailable("the job queue is unavailable; nothing was charged") from exc


def get_job(job_id: str, *, user: User) -> Job:
    """The job if `user` owns it (or is staff); another user's job is indistinguishable from none."""
    job = Job.get_or_none(Job.id == job_id)
    if job is None or (job.user_id != user.id and user.role not in ("admin", "support")):
        raise JobNotFound()
    return job


def list_jobs(user: User, *, cursor: str | None, limit: int, status: str | None = None,
              job_type: str | None = None) -> tuple[list[Job], str | None]:
    """Newest first, keyset-paginated on (created_at, id) so new jobs never shift pages."""
    query = Job.select().where(Job.user == user.id)
    if status:
        query = query.where(Job.status == status)
    if job_type:
        query = query.where(Job.type == job_type)
    if cursor:
        created_at, job_id = decode_cursor(cursor)
        query = query.where((Job.created_at < created_at) |
                            ((Job.created_at == created_at) & (Job.id < job_id)))
    rows = list(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1))
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) \
        if len(rows) > limit else None
    return rows[:limit], next_cursor


def cancel_job(job_id: str, *, user: User) -> Job:
    """Cancel: a queued job ends at once (hold released); a running one stops at its next chunk.

    Only the owner or an admin may cancel (`JobCancelForbidden` for support, who may read the
    job); an admin's cancel of another user's job is audited with the status before and after.
    """
    job = get_job(job_id, user=user)
    on_behalf = job.user_id != user.id
    if on_behalf and not has_role(user, "admin"):
        raise JobCancelForbidden()
    if job.status not in ACTIVE_STATUSES:
        raise JobAlreadyFinished(f"the job has already {job.status}")
    if not cancel_queued(job.id):  # a run has it: it stops at its next chunk
        cancel_flags().request(job.id)
    after = Job.get_by_id(job.id)
    if on_behalf:
        _audit_cancel(actor=user, job=after, status_before=job.status)
    return after


def _audit_cancel(*, actor: User, job: Job, status_before: str) -> None:
    """Record a staff cancel of someone else's job. A running job is still `running` here (it
    stops at its next chunk), so `after` also says a cancel was requested."""
    audit.record(actor_id=actor.id, actor_label=actor.email, action="job.cancel",
                 target_type="job", target_id=job.id,
                 before={"status": status_before, "user_id": job.user_id},
                 after={"status": job.status, "cancel_requested": True})
    log.info("job_canceled_by_staff", job_id=job.id, actor_id=actor.id,
             status_before=status_before, status_after=job.status)

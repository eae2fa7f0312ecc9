"""A worker's run of a video job: create it upstream once, wait for it (the providers' backoff),
download it into the hub's storage, settle. Cancel requests and the lease are checked while
waiting.

Billing (docs/jobs.md#billing-policy-what-every-ending-costs): a finished video is charged the
seconds it lasts, read from the downloaded MP4 (`app.providers.mp4`), rounded up to a whole
second and never more than requested (the hold); the requested seconds when the file does not
say. A render the vendor's safety filter refused fails with `content_refused`, at no cost."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import structlog
from dramatiq.middleware import TimeLimitExceeded

from app.jobs.runs.base import Run
from app.jobs.runs.ending import complete
from app.jobs.runs.worker import claim
from app.models.jobs import Job
from app.providers import router
from app.providers.errors import ProviderError
from app.providers.mp4 import Mp4DurationUnknown, file_duration_s, whole_seconds
from app.providers.types import VideoImage, VideoRequest
from app.providers.video import first_frame_path, video_storage_path, wait_for_video
from app.services.prices import pricing
from app.services.runtime import current_events, current_settings

log = structlog.get_logger(__name__)

WAIT_SLICE_S = 0.25  # waits are sliced so cancel requests and the time limit cut them short


class _Stopped(Exception):
    """The job was canceled, or another run took it over, while waiting for the render."""


def run_video_job(job_id: str) -> None:
    run = claim(job_id)
    if run is None:
        return
    current_events().append(run.job.id, "status", {"status": "running"})
    outcome, error = "succeeded", None
    try:
        _generate(run)
    except _Stopped:
        outcome = "canceled"
    except ProviderError as exc:
        outcome, error = "failed", {"code": exc.code, "message": exc.message}
    except TimeLimitExceeded:
        outcome, error = "failed", {"code": "time_limit", "message": "the job hit its time limit"}
    if run.lost:
        log.warning("job_lease_lost", job_id=job_id)
        return
    job = Job.get_by_id(job_id)
    cost = pricing.video_cost(job.price_id, job.video_seconds,
                              audio=json.loads(job.request_json).get("audio")) \
        if outcome == "succeeded" else 0
    complete(job.id, run.token, outcome=outcome, cost_credits=cost, error=error, fields={})


def request_from_record(params: dict[str, Any], job_id: str) -> VideoRequest:
    """The video request a job's row keeps (`app.jobs.api.video_record`), its first frame read
    back from storage."""
    frame = None
    if params.get("first_frame"):
        mime_type = params["first_frame"]["mime_type"]
        frame = VideoImage(mime_type=mime_type,
                           data=first_frame_path(job_id, mime_type).read_bytes())
    return VideoRequest(model=params["model"], prompt=params["prompt"],
                        seconds=params["seconds"], size=params.get("size"),
                        aspect_ratio=params.get("aspect_ratio"),
                        resolution=params.get("resolution"),
                        negative_prompt=params.get("negative_prompt"), audio=params.get("audio"),
                        first_frame=frame)


def delivered_seconds(path: Path, requested: int) -> int:
    """The seconds a downloaded video lasts, rounded up, at most `requested`; `requested` when
    the file does not say."""
    try:
        seconds = whole_seconds(file_duration_s(path))
    except (Mp4DurationUnknown, OSError) as exc:
        log.warning("video_duration_unknown", path=str(path), error=str(exc))
        return requested
    return min(seconds, requested)


def _generate(run: Run) -> None:
    job, events = run.job, current_events()
    params = json.loads(job.request_json)
    provider = router.video_provider(job.model)
    if not job.upstream_id:  # a retried run resumes waiting instead of paying for a second video
        job.upstream_id = provider.create(request_from_record(params, job.id))
        Job.update(upstream_id=job.upstream_id, provider=provider.provider,
                   channel=provider.channel_id).where(Job.id == job.id).execute()

    def sleep(delay_s: float) -> None:
        deadline = time.monotonic() + delay_s
        while (remaining := deadline - time.monotonic()) > 0:
            run.heartbeat()
            if run.lost or run.cancel_requested():
                raise _Stopped()
            time.sleep(min(WAIT_SLICE_S, remaining))

    status = wait_for_video(
        provider, job.upstream_id, sleep=sleep,
        timeout_s=current_settings().HUB_VIDEO_TIME_LIMIT_S,
        on_progress=lambda percent: events.append(job.id, "progress", {"percent": percent}))
    if status.status == "failed" and status.refused:
        raise ContentRefused(status.error or "the provider's safety filter refused the video")
    if status.status == "failed":
        raise _UpstreamVideoFailed(status.error or "the provider could not make the video")
    path = video_storage_path(job.id)
    size_bytes = provider.download(job.upstream_id, path)
    seconds = delivered_seconds(path, params["seconds"])
    # written before the settle, which charges and records these seconds
    Job.update(content_path=str(path), content_bytes=size_bytes,
               video_seconds=seconds).where(Job.id == job.id).execute()
    log.info("video_delivered", job_id=job.id, seconds=seconds, requested=params["seconds"])


class ContentRefused(ProviderError):
    """The provider's safety filter refused to make the video (nothing is charged)."""

    http_status = 422
    code = "content_refused"
    retryable = False


class _UpstreamVideoFailed(ProviderError):
    """The provider reported the render as failed."""

    http_status = 502
    code = "upstream_failed"
    retryable = False

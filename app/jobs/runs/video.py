"""A worker's run of a video job: create it upstream once, wait for it (the providers' backoff),
download it into the hub's storage, settle. Cancel requests and the lease are checked while
waiting."""

from __future__ import annotations

import json
import time

import structlog
from dramatiq.middleware import TimeLimitExceeded

from app.jobs.runs.base import Run
from app.jobs.runs.ending import complete
from app.jobs.runs.worker import claim
from app.models.jobs import Job
from app.providers import router
from app.providers.errors import ProviderError
from app.providers.video import video_storage_path, wait_for_video
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
    cost = pricing.video_cost(job.price_id, job.video_seconds) if outcome == "succeeded" else 0
    complete(job.id, run.token, outcome=outcome, cost_credits=cost, error=error, fields={})


def _generate(run: Run) -> None:
    job, events = run.job, current_events()
    params = json.loads(job.request_json)
    provider = router.video_provider(job.model)
    if not job.upstream_id:  # a retried run resumes waiting instead of paying for a second video
        job.upstream_id = provider.create(params["prompt"], params["seconds"], params["size"])
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
    if status.status == "failed":
        raise _UpstreamVideoFailed(status.error or "the provider could not make the video")
    path = video_storage_path(job.id)
    size_bytes = provider.download(job.upstream_id, path)
    Job.update(content_path=str(path), content_bytes=size_bytes).where(Job.id == job.id).execute()


class _UpstreamVideoFailed(ProviderError):
    """The provider reported the render as failed."""

    http_status = 502
    code = "upstream_failed"
    retryable = False

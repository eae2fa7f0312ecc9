"""Run a video job: create it upstream once, poll with exponential backoff, download, settle."""

from __future__ import annotations

import json
import time
from pathlib import Path

import structlog
from dramatiq.middleware import TimeLimitExceeded

from app.models.jobs import Job
from app.providers import pricing, router
from app.providers.errors import ProviderError
from app.services.job_runner import Run, _complete, claim
from app.services.runtime import current_events, current_settings

log = structlog.get_logger(__name__)

FIRST_POLL_DELAY_S = 1.0
MAX_POLL_DELAY_S = 15.0
BACKOFF_FACTOR = 1.5
WAIT_SLICE_S = 0.25  # waits are sliced so dramatiq's time limit can interrupt them


def storage_path(job_id: str) -> Path:
    directory = Path(current_settings().HUB_STORAGE_DIR) / "videos"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{job_id}.mp4"


def run_video_job(job_id: str) -> None:
    run = claim(job_id)
    if run is None:
        return
    job, events = run.job, current_events()
    events.append(job.id, "status", {"status": "running"})
    try:
        outcome, error = _generate(run)
    except ProviderError as exc:
        outcome, error = "failed", {"code": exc.code, "message": exc.message}
    except TimeLimitExceeded:
        outcome, error = "failed", {"code": "time_limit", "message": "the job hit its time limit"}
    if run.lost:
        return
    job = Job.get_by_id(job.id)
    cost = pricing.video_cost(job.price_id, job.video_seconds) if outcome == "succeeded" else 0
    _complete(job.id, run.token, outcome=outcome, cost_credits=cost, error=error, fields={})


def _generate(run: Run) -> tuple[str, dict | None]:
    job, events = run.job, current_events()
    params = json.loads(job.request_json)
    provider = router.video_provider(job.model)
    if not job.upstream_id:  # a retried run resumes polling instead of creating a second video
        job.upstream_id = provider.create(params["prompt"], params["seconds"], params["size"])
        Job.update(upstream_id=job.upstream_id, provider=provider.name) \
            .where(Job.id == job.id).execute()
    delay_s, last_percent = FIRST_POLL_DELAY_S, -1
    while True:
        status = provider.poll(job.upstream_id)
        if status.progress_percent is not None and status.progress_percent != last_percent:
            last_percent = status.progress_percent
            events.append(job.id, "progress", {"percent": last_percent})
        if status.status == "completed":
            break
        if status.status == "failed":
            return "failed", {"code": "upstream_failed",
                              "message": status.error or "the provider could not make the video"}
        if run.cancel_requested():
            return "canceled", None
        run.heartbeat(force=True)
        if run.lost:
            return "failed", None
        _wait(delay_s, run)
        delay_s = min(delay_s * BACKOFF_FACTOR, MAX_POLL_DELAY_S)
    path = storage_path(job.id)
    size_bytes = provider.download(job.upstream_id, path)
    Job.update(content_path=str(path), content_bytes=size_bytes).where(Job.id == job.id).execute()
    events.append(job.id, "progress", {"percent": 100})
    return "succeeded", None


def _wait(delay_s: float, run: Run) -> None:
    deadline = time.monotonic() + delay_s
    while time.monotonic() < deadline and not run.cancel_requested():
        time.sleep(min(WAIT_SLICE_S, max(deadline - time.monotonic(), 0)))

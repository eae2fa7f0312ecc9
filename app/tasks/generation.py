"""Generation actors: thin wrappers that hand a job id to the runners in `app.services`."""

from __future__ import annotations

from app.config import Settings
from app.queue import hub_actor
from app.scheduler import periodic
from app.services import job_reaper, job_runner, video_runner


def _chat_options(settings: Settings) -> dict:
    return {"time_limit": settings.HUB_CHAT_TIME_LIMIT_S * 1000}


def _video_options(settings: Settings) -> dict:
    return {"time_limit": settings.HUB_VIDEO_TIME_LIMIT_S * 1000}


# No dramatiq retries: a failed run is finished (and settled) by the runner itself, and a run
# whose worker died is requeued or finished by `reap_stale_jobs` through the job's lease.
@hub_actor(queue_name="chat", max_retries=0, time_limit=600_000,
           options_from_settings=_chat_options)
def run_chat_job(job_id: str) -> None:
    job_runner.run_chat_job(job_id)


@hub_actor(queue_name="video", max_retries=0, time_limit=1_800_000,
           options_from_settings=_video_options)
def run_video_job(job_id: str) -> None:
    video_runner.run_video_job(job_id)


@periodic(15)
@hub_actor(queue_name="ops", max_retries=0, time_limit=120_000)
def reap_stale_jobs() -> None:
    job_reaper.reap_stale_jobs()

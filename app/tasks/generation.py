"""Generation actors: thin wrappers that hand a job id to the job core (`app.jobs`).

Their names ("generation.run_chat_job", "generation.run_video_job") are what the job core
sends through `app.dispatch` (`app.jobs.runs.RUN_ACTORS`)."""

from __future__ import annotations

from app.config import Settings
from app.errors import DATABASE_ERRORS, database_unreachable
from app.jobs import reaper
from app.jobs.runs import video, worker
from app.queue import hub_actor
from app.scheduler import periodic


def _chat_options(settings: Settings) -> dict:
    return {"time_limit": settings.HUB_CHAT_TIME_LIMIT_S * 1000}


def _video_options(settings: Settings) -> dict:
    return {"time_limit": settings.HUB_VIDEO_TIME_LIMIT_S * 1000}


# With backoff from 1 s doubling to 30 s: about two minutes of database outage.
DATABASE_RETRIES = 8


def retry_when_database_unreachable(retries: int, exc: BaseException) -> bool:
    """A run's own endings are settled by the runner, and a dead run's job is requeued or
    finished by `reap_stale_jobs` through its lease: no dramatiq retries for those. But a
    message whose processing failed because the database could not be reached (a worker takes
    it from the queue during a restart of PostgreSQL, before the job could be claimed) is
    delivered again with backoff; dropped, its job would wait for the reaper's resend
    (HUB_JOB_RESEND_AFTER_S, minutes). A copy that finds the job claimed does nothing."""
    return retries < DATABASE_RETRIES and isinstance(exc, DATABASE_ERRORS) \
        and database_unreachable(exc)


_RETRIES = {"max_retries": 0, "retry_when": retry_when_database_unreachable,
            "min_backoff": 1_000, "max_backoff": 30_000}


@hub_actor(queue_name="chat", time_limit=600_000, options_from_settings=_chat_options,
           **_RETRIES)
def run_chat_job(job_id: str) -> None:
    worker.run_chat_job(job_id)


@hub_actor(queue_name="video", time_limit=1_800_000, options_from_settings=_video_options,
           **_RETRIES)
def run_video_job(job_id: str) -> None:
    video.run_video_job(job_id)


@periodic(15)
@hub_actor(queue_name="ops", max_retries=0, time_limit=120_000)
def reap_stale_jobs() -> None:
    reaper.reap_stale_jobs()

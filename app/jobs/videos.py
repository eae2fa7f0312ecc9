"""What the routes serving a video job read besides its row: its stored MP4 (`GET
/api/jobs/<id>/content` and the OpenAI-compatible `GET /v1/videos/<id>/content`, one rule for
who may read it and when it is there) and its latest progress (kept only in its event stream)."""

from __future__ import annotations

import os

from app.jobs.api import JobNotFound, get_job
from app.models.jobs import Job
from app.models.users import User
from app.services.runtime import current_events


class ContentNotReady(JobNotFound):
    """The job has no content to download (not a video, not finished, failed, or its file is
    gone): a 404, as OpenAI's videos API answers for a video still rendering."""


def get_video_job(job_id: str, *, user: User) -> Job:
    """A video job as `get_job` reads it; any other job is none here."""
    job = get_job(job_id, user=user)
    if job.type != "video":
        raise JobNotFound()
    return job


def video_file(job_id: str, *, user: User) -> tuple[Job, str]:
    """The video job (another user's is none) and its MP4's path."""
    job = get_video_job(job_id, user=user)
    if job.status != "succeeded" or not job.content_path \
            or not os.path.exists(job.content_path):
        raise ContentNotReady("this job has no content to download")
    return job, job.content_path


def progress_percent(job: Job) -> int:
    """The last `progress` a running video job reported (0 before the first). A video job's
    stream holds a handful of events, so it is read whole."""
    if job.status != "running":
        return 100 if job.status == "succeeded" else 0
    percents = [event.data.get("percent", 0) for event in current_events().read(job.id)
                if event.type == "progress"]
    return int(percents[-1]) if percents else 0

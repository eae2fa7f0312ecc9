"""Running a job: who runs it, and how it ends.

- `base`: the `Run` (lease, heartbeat, cancel flag, deadline, delivered output) and the
  `Delivery` protocol, the strategy each kind of run brings;
- `worker`: a Dramatiq worker's run (`claim`, `WorkerDelivery`: every batch mirrored to the
  event stream at once), for `queue` jobs;
- `web`: the web process's run for a `/v1` caller (`adopt`, `WebDelivery`: first tokens first,
  mirror intervals, later work taking turns), for `web` jobs;
- `chat`: `execute_chat`, the same for both: provider batches through the pump, delivery,
  the ending; `video`: a worker's video run;
- `ending`: every ending settled exactly once (`complete`), the charge, a queued job's cancel.

`send_run` asks a worker to run a `queue` job, through the dispatch port (`app.dispatch`), so
the job core never imports the task modules that call it.
"""

from __future__ import annotations

from app.dispatch import send

RUN_ACTORS = {"chat": "generation.run_chat_job", "video": "generation.run_video_job"}


def send_run(job_type: str, job_id: str) -> None:
    """Send the message that has a worker run the job (a duplicate is harmless: one claims)."""
    send(RUN_ACTORS[job_type], job_id)

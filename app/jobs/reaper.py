"""Finish jobs whose run died: their lease expired while they were still `running`.

- outcome already recorded (the run died while settling): settle again (idempotent) and show it;
- nothing delivered yet: put it back in the queue (up to HUB_JOB_MAX_ATTEMPTS runs), unless the
  web process ran it for a `/v1` caller (`executor="web"`): that caller is gone, so it fails
  and costs nothing;
- output already delivered: fail it and charge what was delivered (counted from the event stream).

A `running` job with no lease and its outcome recorded is settled the same way: the cancel of a
queued job in versions before migration 011 took two steps, and a crash between them left
such a row (a queued job's cancel is now one transaction: `store.end_unstarted`).

It also sends again the message of a job still `queued` long after its last send (a message lost
by a broker): a duplicate is harmless, since only one run can claim a job.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import structlog

from app.chat.events import TextDelta, billable_text, piece_of
from app.jobs.runs import send_run
from app.jobs.runs.ending import chat_charge, complete, settle_recorded
from app.models.base import utcnow
from app.models.jobs import Job
from app.services.runtime import current_events, current_settings

log = structlog.get_logger(__name__)


def reap_stale_jobs() -> int:
    """Finish or requeue every job whose lease has expired; return how many were handled."""
    now = utcnow()
    _resend_forgotten(now)
    stale = list(Job.select().where(
        (Job.status == "running") & ((Job.lease_expires_at < now) |
                                     (Job.lease_expires_at.is_null() & Job.outcome.is_null(False)))))
    for job in stale:
        if job.outcome:
            settle_recorded(job)
        elif job.delivered_chars == 0 and job.executor == "queue" \
                and job.attempts < current_settings().HUB_JOB_MAX_ATTEMPTS:
            _requeue(job, now)
        else:
            _fail_lost(job, now)
    return len(stale)


def _resend_forgotten(now: datetime) -> None:
    cutoff = now - timedelta(seconds=current_settings().HUB_JOB_RESEND_AFTER_S)
    for job in Job.select(Job.id, Job.type).where((Job.status == "queued") &
                                                  (Job.enqueued_at < cutoff)):
        resent = (Job.update(enqueued_at=now)
                  .where((Job.id == job.id) & (Job.status == "queued") &
                         (Job.enqueued_at < cutoff)).execute())
        if resent:
            send_run(job.type, job.id)
            log.warning("job_message_resent", job_id=job.id)


def _take_over(job: Job, now) -> str | None:
    token = uuid.uuid4().hex
    taken = (Job.update(worker_token=token)
             .where((Job.id == job.id) & (Job.worker_token == job.worker_token) &
                    (Job.status == "running") & (Job.lease_expires_at < now)).execute())
    return token if taken else None


def _requeue(job: Job, now) -> None:
    requeued = (Job.update(status="queued", worker_token=None, lease_expires_at=None,
                           enqueued_at=now)
                .where((Job.id == job.id) & (Job.worker_token == job.worker_token) &
                       (Job.status == "running") & (Job.lease_expires_at < now) &
                       (Job.delivered_chars == 0)).execute())
    if requeued:
        send_run(job.type, job.id)
        log.warning("job_requeued_after_lost_worker", job_id=job.id, attempts=job.attempts)


def _fail_lost(job: Job, now) -> None:
    token = _take_over(job, now)
    if token is None:
        return
    error = {"code": "worker_lost", "message": "the worker running this job stopped"
             if job.executor == "queue" else "the web process running this job stopped"}
    if job.type == "video":
        complete(job.id, token, outcome="failed", cost_credits=0, error=error, fields={})
        return
    pieces = [piece_of(e.data) for e in current_events().read(job.id, count=100_000)
              if e.type == "delta"]
    text = "".join(p.text for p in pieces if isinstance(p, TextDelta) and not p.choice)
    delivered = "".join(billable_text(p) for p in pieces)
    input_tokens, output_tokens, cost = chat_charge(job, delivered, None, "failed")
    complete(job.id, token, outcome="failed", cost_credits=cost, error=error,
              fields={"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "result_text": text})
    log.warning("job_failed_after_lost_worker", job_id=job.id, cost_credits=cost)

"""Opening a job: its hold and its row, in one step, for the caller as it is now.

A job request may authenticate its API key from this process's recent reads
(`app.services.recent_reads`); the open (`store.open_job`) re-checks that read in the same
statement that places the hold, and refuses a stale one (`api_keys.StaleApiKey`, nothing
held). The caller is then authenticated again from the database, with the refusals that
authenticating the request and its view's guard give
(`app.security.api_key_auth.reauthenticate_key`), and the open tried once more: the view
never runs twice.
"""

from __future__ import annotations

import structlog

from app.jobs import store
from app.models.api_keys import ApiKey
from app.models.jobs import Job
from app.models.users import User
from app.security.api_key_auth import reauthenticate_key
from app.services import api_keys
from app.services.ledger.cache import CommandWriter
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)


def hold_ttl_s(job_type: str) -> int:
    """The expiry a job's hold is placed with. The expiry sweep never releases the hold of a
    queued or running job (it lives as long as the job: docs/guarantees.md); this only bounds
    a hold whose job row is gone."""
    settings = current_settings()
    limit_s = settings.HUB_VIDEO_TIME_LIMIT_S if job_type == "video" else settings.HUB_CHAT_TIME_LIMIT_S
    return limit_s + 2 * settings.HUB_JOB_LEASE_S + 300


def open_job(job: Job, *, user: User, api_key: ApiKey | None, price_stamp: str,
             writer: CommandWriter | None) -> tuple[User, ApiKey | None]:
    """Place the job's hold and insert its row (`store.open_job`); if the caller's reused
    key read is stale, authenticate the caller again from the database and open once more
    (nothing was held the first time). The caller as the open checked it. `writer`: what the
    balance cache's bump goes through (a request's pending writes)."""
    ttl_s = hold_ttl_s(job.type)
    try:
        store.open_job(job, user=user, api_key=api_key, hold_ttl_s=ttl_s,
                       price_stamp=price_stamp, writer=writer)
    except api_keys.StaleApiKey:
        log.info("job_key_stale", job_id=job.id)
        user, api_key = reauthenticate_key(api_key)
        store.open_job(job, user=user, api_key=api_key, hold_ttl_s=ttl_s,
                       price_stamp=price_stamp, writer=writer)
    return user, api_key


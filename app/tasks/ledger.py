"""Ledger actors: the periodic release of expired holds."""

from __future__ import annotations

import structlog

from app.queue import hub_actor
from app.scheduler import periodic
from app.services import ledger

log = structlog.get_logger(__name__)

HOLD_SWEEP_INTERVAL_S = 60


@periodic(HOLD_SWEEP_INTERVAL_S)
@hub_actor(queue_name="ledger", max_retries=0, time_limit=5 * 60_000, throws=())
def release_expired_holds() -> None:
    """Release holds past their expiry, so a crashed job cannot lock credits forever. Not
    retried: the next run a minute later picks up whatever this one missed."""
    released = ledger.release_expired_holds()
    log.info("expired_holds_released", count=released)

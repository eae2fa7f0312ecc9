"""The state of things now (not over a period): each channel's breaker, the queues, the last
reconciliation with Stripe and the payments waiting for someone to look at them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import redis

from app.models.payments import PaymentFlag, ReconciliationRun
from app.providers.breaker import CLOSED
from app.providers.registry import current_registry
from app.services.periodic_jobs import PeriodicJobState

UNKNOWN = "unknown"  # the breaker store did not answer


@dataclass(frozen=True)
class BreakerState:
    channel: str
    provider: str
    state: str  # closed, open, half_open, or unknown
    failures: int

    @property
    def healthy(self) -> bool:
        return self.state == CLOSED


@dataclass(frozen=True)
class ReconciliationStatus:
    last_run_id: int | None
    last_status: str | None  # running, ok, failed; None: never ran
    last_started_at: datetime | None
    last_fixed: int
    last_mismatches: int  # what the run found and could not fix
    last_error: str
    open_flags: int  # disputes and refund shortfalls nobody marked resolved
    job: PeriodicJobState | None  # the scheduled reconciliation, where there is one

    @property
    def needs_attention(self) -> bool:
        return (self.last_status == "failed" or self.last_mismatches > 0 or self.open_flags > 0
                or (self.job is not None and self.job.overdue))


def breaker_states() -> list[BreakerState]:
    """Every enabled channel's breaker, by channel id."""
    registry = current_registry()
    states = []
    for channel_id, channel in sorted(registry.channels.items()):
        try:
            state, failures = registry.breakers.state(channel_id)
        except redis.RedisError:
            state, failures = UNKNOWN, 0
        states.append(BreakerState(channel_id, channel.provider, state, failures))
    return states


def reconciliation_status(job: PeriodicJobState | None = None) -> ReconciliationStatus:
    """The latest reconciliation run, the open payment flags, and `job` (the scheduled
    reconciliation's state, which the caller knows the name of)."""
    run = ReconciliationRun.select().order_by(ReconciliationRun.id.desc()).first()
    flags = PaymentFlag.select().where(PaymentFlag.resolved_at.is_null()).count()
    if run is None:
        return ReconciliationStatus(None, None, None, 0, 0, "", flags, job)
    found = len(json.loads(run.mismatches or "[]"))  # each fix is noted there too
    return ReconciliationStatus(run.id, run.status, run.started_at, run.fixed,
                                max(found - run.fixed, 0), run.error, flags, job)

"""The daily retention pass (`app.services.retention`), run by the scheduler."""

from __future__ import annotations

import structlog

from app.metrics import RETENTION_ROWS
from app.models.base import utcnow
from app.queue import hub_actor
from app.scheduler import periodic
from app.services.retention import apply_retention
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)

RETENTION_INTERVAL_S = 86_400


@periodic(RETENTION_INTERVAL_S)
@hub_actor(queue_name="ops", max_retries=0, time_limit=60 * 60_000, throws=())
def apply_retention_daily() -> None:
    """Roll up and drop usage records and job details older than `HUB_RETENTION_DAYS`. Not
    retried: each batch commits on its own, and the next day's pass takes up what is left."""
    days = current_settings().HUB_RETENTION_DAYS
    report = apply_retention(utcnow(), days)
    RETENTION_ROWS.labels("usage_records_rolled_up").inc(report.usage_records_rolled_up)
    RETENTION_ROWS.labels("jobs_stripped").inc(report.jobs_stripped)
    RETENTION_ROWS.labels("conversation_replies_filled").inc(report.conversation_replies_filled)
    log.info("retention_applied", days=days,
             cutoff=report.cutoff.isoformat() if report.cutoff else None,
             usage_records_rolled_up=report.usage_records_rolled_up,
             daily_rows_upserted=report.daily_rows_upserted,
             jobs_stripped=report.jobs_stripped, batches=report.batches,
             conversation_replies_filled=report.conversation_replies_filled)

"""Payment actors: the scheduled reconciliation with Stripe, and the low-balance sweep."""

from __future__ import annotations

import structlog

from app.queue import hub_actor
from app.scheduler import periodic
from app.services.payments.errors import PaymentProviderError
from app.services.payments.notifications import check_all_low_balances
from app.services.reconcile import reconcile
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)

RECONCILE_INTERVAL_S = 3600  # hourly; cron can run `python -m scripts.reconcile` instead
LOW_BALANCE_INTERVAL_S = 300  # usage debits happen in the ledger; this sweep notices them


@periodic(RECONCILE_INTERVAL_S)
@hub_actor(queue_name="payments", max_retries=2, min_backoff=60_000, time_limit=15 * 60_000,
           throws=())
def reconcile_payments() -> None:
    """Reconcile recent Checkout Sessions; a Stripe failure is retried (the report says so)."""
    if not current_settings().payments_enabled:
        log.info("reconciliation_skipped", reason="payments not configured")
        return
    run = reconcile(trigger="schedule")
    if run.status == "failed":
        raise PaymentProviderError(f"reconciliation run {run.id} failed: {run.error}")


@periodic(LOW_BALANCE_INTERVAL_S)
@hub_actor(queue_name="payments", max_retries=0, time_limit=5 * 60_000, throws=())
def check_low_balances() -> None:
    """Mail every user whose available credits fell below their alert since the last mail."""
    sent = check_all_low_balances()
    log.info("low_balance_sweep_finished", mails=sent)

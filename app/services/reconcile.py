"""Reconciliation: credit every paid Checkout Session the webhook missed, and report.

It lists the Checkout Sessions Stripe created in the last `HUB_RECONCILE_LOOKBACK_HOURS`,
credits each paid hub session through the same idempotent path as the webhook
(`fulfil_session`), marks expired ones, and stores a `ReconciliationRun` report: sessions seen,
fixed (credited by this run), expired, and mismatches for the back office. Every step locks
the one payment it touches, so runs are safe beside webhooks and beside each other.
"""

from __future__ import annotations

import json
import time
from typing import Any

import structlog

from app.models.base import utcnow
from app.models.payments import Payment, ReconciliationRun
from app.services.payments import gateway
from app.services.payments.errors import PaymentProviderError, PaymentsNotConfigured
from app.services.payments.fulfilment import (
    PAID,
    close_session,
    fulfil_session,
    is_hub_session,
)
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)


def _check(session: dict[str, Any], mismatches: list[dict[str, str]]) -> None:
    """Note where our record and Stripe's disagree (after any fix this run made)."""
    payment = Payment.get_or_none(Payment.stripe_session_id == session["id"])
    if payment is None:
        return
    paid = session.get("payment_status") in PAID
    if payment.ledger_entry_id is not None and not paid:
        mismatches.append({"session_id": session["id"],
                           "problem": f"credited here but Stripe says {session.get('payment_status')}"})
    if session.get("amount_total") is not None and session["amount_total"] != payment.amount_cents:
        mismatches.append({"session_id": session["id"],
                           "problem": f"amount {session['amount_total']} at Stripe, "
                                      f"{payment.amount_cents} here"})


def reconcile(*, trigger: str, lookback_hours: int | None = None) -> ReconciliationRun:
    """Run one reconciliation and return its stored report (status `ok` or `failed`)."""
    settings = current_settings()
    if not settings.payments_enabled:
        raise PaymentsNotConfigured()
    hours = lookback_hours or settings.HUB_RECONCILE_LOOKBACK_HOURS
    run = ReconciliationRun.create(trigger=trigger, lookback_hours=hours)
    mismatches: list[dict[str, str]] = []
    try:
        for session in gateway.iter_checkout_sessions(created_gte=int(time.time()) - hours * 3600):
            run.sessions_seen += 1
            if not is_hub_session(session):
                continue
            if session.get("status") == "complete" and session.get("payment_status") in PAID:
                result = fulfil_session(session)
                if result is not None and result.credited:
                    run.fixed += 1
                    mismatches.append({"session_id": session["id"],
                                       "problem": "paid but not credited: credited now"
                                       + (" (payment row was missing)"
                                          if result.row_was_missing else "")})
            elif session.get("status") == "expired" and close_session(session, "expired"):
                run.expired += 1
            _check(session, mismatches)
        run.status = "ok"
    except PaymentProviderError as exc:
        run.status, run.error = "failed", exc.message
    run.mismatches = json.dumps(mismatches)
    run.finished_at = utcnow()
    run.save()
    log.info("reconciliation_finished", run_id=run.id, trigger=trigger, status=run.status,
             sessions_seen=run.sessions_seen, fixed=run.fixed, expired=run.expired,
             mismatches=len(mismatches))
    return run

"""Reconciliation: paid sessions whose webhook never came are credited once, and reported."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import dramatiq
import pytest

from app.extensions import db
from app.models.payments import Payment, ReconciliationRun
from app.scheduler import PERIODIC_JOBS
from app.services.reconcile import reconcile
from tests.fake_stripe import signed_event
from tests.payments.conftest import (
    WEBHOOK_SECRET,
    assert_ledger_consistent,
    dead_url,
    deliver,
    ledger_entries,
    stripe_settings,
)
from tests.workers import PROJECT_ROOT, settings_env


def report(run: ReconciliationRun) -> dict:
    return {"status": run.status, "seen": run.sessions_seen, "fixed": run.fixed,
            "expired": run.expired, "mismatches": json.loads(run.mismatches)}


def test_a_webhook_that_never_arrives_is_made_good_by_reconciliation(buyer, pay_app) -> None:
    paid = buyer.checkout("pro")
    buyer.fake.complete_session(paid["session_id"])
    buyer.checkout("starter")  # still open: left alone

    with pay_app.app_context():
        first = reconcile(trigger="cli")
        second = reconcile(trigger="cli")

    assert report(first) == {"status": "ok", "seen": 2, "fixed": 1, "expired": 0, "mismatches": [
        {"session_id": paid["session_id"], "problem": "paid but not credited: credited now"}]}
    assert report(second) == {"status": "ok", "seen": 2, "fixed": 0, "expired": 0,
                              "mismatches": []}
    assert buyer.balance()["balance"] == 2_100_000
    assert {p["package"]: p["status"] for p in buyer.payments()} == {"pro": "paid",
                                                                      "starter": "pending"}
    assert ledger_entries(buyer.user.id) == [
        ("purchase", 2_100_000, f"stripe:checkout:{paid['session_id']}")]
    # the late webhook changes nothing
    deliver(buyer.client, "checkout.session.completed", buyer.fake.session(paid["session_id"]))
    assert buyer.balance()["balance"] == 2_100_000
    assert_ledger_consistent()


def test_expired_sessions_are_marked_and_old_ones_are_out_of_reach(buyer, pay_app) -> None:
    abandoned = buyer.checkout()
    buyer.fake.expire(abandoned["session_id"])
    ancient = buyer.checkout("pro")
    buyer.fake.complete_session(ancient["session_id"])
    buyer.fake.backdate(ancient["session_id"], hours=49)

    with pay_app.app_context():
        run = reconcile(trigger="cli")

    assert report(run) == {"status": "ok", "seen": 1, "fixed": 0, "expired": 1,
                           "mismatches": []}
    assert {p["package"]: p["status"] for p in buyer.payments()} == {"starter": "expired",
                                                                      "pro": "pending"}
    with pay_app.app_context():
        wider = reconcile(trigger="cli", lookback_hours=50)
    assert (wider.sessions_seen, wider.fixed) == (2, 1)
    assert buyer.balance()["balance"] == 2_100_000


def test_a_lost_payment_row_is_rebuilt_from_the_session(buyer, pay_app) -> None:
    started = buyer.checkout("business")
    buyer.fake.complete_session(started["session_id"])
    Payment.delete().execute()  # as if the process died before writing it

    with pay_app.app_context():
        run = reconcile(trigger="cli")

    assert run.fixed == 1
    assert json.loads(run.mismatches) == [{
        "session_id": started["session_id"],
        "problem": "paid but not credited: credited now (payment row was missing)"}]
    [payment] = buyer.payments()
    assert (payment["package"], payment["status"], payment["amount_cents"],
            payment["credits"]) == ("business", "paid", 10_000, 11_000_000)
    assert buyer.balance()["balance"] == 11_000_000


def test_disagreements_with_stripe_are_reported(buyer, pay_app) -> None:
    started = buyer.checkout()
    session = buyer.fake.complete_session(started["session_id"])
    deliver(buyer.client, "checkout.session.completed", session)
    Payment.update(amount_cents=499).execute()

    with pay_app.app_context():
        run = reconcile(trigger="cli")

    assert run.fixed == 0
    assert json.loads(run.mismatches) == [{"session_id": started["session_id"],
                                           "problem": "amount 500 at Stripe, 499 here"}]


def test_every_page_of_sessions_is_read(buyer, pay_app) -> None:
    started = buyer.checkout()
    buyer.fake.complete_session(started["session_id"])
    buyer.fake.backdate(started["session_id"], hours=1)  # the oldest: on the second page
    buyer.fake.add_other_sessions(102)
    with pay_app.app_context():
        run = reconcile(trigger="cli")
    assert (run.sessions_seen, run.fixed) == (103, 1)
    assert buyer.balance()["balance"] == 500_000
    listed = [path for method, path in buyer.fake.requests
              if method == "GET" and path == "/v1/checkout/sessions"]
    assert len(listed) == 2


def test_webhooks_and_reconciliations_racing_credit_once(buyer, pay_app) -> None:
    started = [buyer.checkout(package) for package in ("starter", "pro", "business")]
    sessions = [buyer.fake.complete_session(s["session_id"]) for s in started]
    deliveries = [signed_event(WEBHOOK_SECRET, "checkout.session.completed", session)
                  for session in sessions for _ in range(4)]
    jobs = ["reconcile"] * 3 + deliveries
    start = threading.Barrier(len(jobs))

    def run(job) -> object:
        start.wait()
        try:
            if job == "reconcile":
                with pay_app.app_context():
                    return reconcile(trigger="cli").status
            body, headers = job
            response = pay_app.test_client().post("/api/payments/webhook", data=body,
                                                  headers=headers)
            return response.status_code
        finally:
            if not db.is_closed():
                db.close()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(run, jobs))

    assert results == ["ok"] * 3 + [200] * len(deliveries)
    assert buyer.balance()["balance"] == 500_000 + 2_100_000 + 11_000_000
    assert sorted(e[1] for e in ledger_entries(buyer.user.id)) == [500_000, 2_100_000,
                                                                    11_000_000]
    assert sum(r.fixed for r in ReconciliationRun.select()) <= 3
    assert_ledger_consistent()


def test_stripe_unreachable_is_a_failed_report(app_factory) -> None:
    app = app_factory(STRIPE_API_BASE=dead_url())
    with app.app_context():
        run = reconcile(trigger="cli")
    assert run.status == "failed" and "Stripe could not list checkout sessions" in run.error
    assert ReconciliationRun.get_by_id(run.id).finished_at is not None


def test_cli_prints_the_report_and_fails_when_stripe_fails(buyer, pay_app, app_factory) -> None:
    started = buyer.checkout()
    buyer.fake.complete_session(started["session_id"])
    result = pay_app.test_cli_runner().invoke(args=["payments", "reconcile", "--hours", "2"])
    assert result.exit_code == 0, result.output
    assert "ok; sessions seen 1, fixed 1, expired 0" in result.output
    assert f"{started['session_id']}: paid but not credited: credited now" in result.output
    assert ReconciliationRun.get().lookback_hours == 2

    offline = app_factory(STRIPE_API_BASE=dead_url()).test_cli_runner()
    failed = offline.invoke(args=["payments", "reconcile"])
    assert failed.exit_code == 1 and "failed" in failed.output

    unconfigured = app_factory(stripe=False).test_cli_runner()
    refused = unconfigured.invoke(args=["payments", "reconcile"])
    assert refused.exit_code == 1 and "STRIPE_SECRET_KEY" in refused.output


def test_the_cron_script_reconciles(buyer, fake_stripe) -> None:
    started = buyer.checkout()
    buyer.fake.complete_session(started["session_id"])
    env = settings_env(stripe_settings(fake_stripe))
    done = subprocess.run([sys.executable, "-m", "scripts.reconcile", "--hours", "1"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "ok; sessions seen 1, fixed 1" in done.stdout
    assert ReconciliationRun.get().trigger == "script"
    assert buyer.balance()["balance"] == 500_000


def test_the_actor_runs_hourly_through_the_queue(buyer, app_factory) -> None:
    assert PERIODIC_JOBS["payments.reconcile_payments"] == 3600
    app = app_factory(REDIS_URL="", BROKER_URL="")  # in-memory broker, embedded worker
    started = buyer.checkout()
    buyer.fake.complete_session(started["session_id"])
    broker = app.extensions["hub"].broker
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        with app.app_context():
            broker.get_actor("payments.reconcile_payments").send()
        broker.join(broker.get_actor("payments.reconcile_payments").queue_name)
        worker.join()
    finally:
        worker.stop()
    run = ReconciliationRun.get()
    assert (run.trigger, run.status, run.fixed) == ("schedule", "ok", 1)
    assert buyer.balance()["balance"] == 500_000


@pytest.mark.parametrize("configured", [False, True], ids=["not-configured", "stripe-down"])
def test_the_actor_skips_without_stripe_and_retries_when_stripe_fails(app_factory,
                                                                      configured) -> None:
    from app.services.payments.errors import PaymentProviderError
    from app.tasks.payments import reconcile_payments

    overrides = {"STRIPE_API_BASE": dead_url()} if configured else {}
    app = app_factory(stripe=configured, **overrides)
    with app.app_context():
        if configured:
            with pytest.raises(PaymentProviderError):
                reconcile_payments.fn()
        else:
            reconcile_payments.fn()
    assert ReconciliationRun.select().count() == (1 if configured else 0)

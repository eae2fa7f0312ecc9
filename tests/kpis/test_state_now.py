"""What the back-office home says of things now: queue depths asked of each broker (RabbitMQ,
Redis, the embedded one), each channel's breaker, and the reconciliation status."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest

from app import create_app
from app.extensions import db
from app.models.base import utcnow
from app.models.payments import ReconciliationRun
from app.providers.registry import current_registry
from app.services.kpis import overview
from app.services.kpis.health import breaker_states, reconciliation_status
from app.services.kpis.queue_depth import QueueDepthUnavailable, queue_depths
from app.services.periodic_jobs import PeriodicJobState
from app.tasks.ledger import release_expired_holds
from scripts.bench.cleanup import delete_rabbitmq_queues
from tests.conftest import QUEUE_PREFIX, make_settings, sqlite_app
from tests.factories import create_payment_flag, create_user

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"


def _depths() -> dict[str, tuple[int, int]]:
    return {d.queue: (d.ready, d.delayed) for d in queue_depths()}


@pytest.fixture(params=["rabbitmq", "redis"])
def broker_app(request, migrated_database):
    """An app on RabbitMQ or Redis with queue names of its own: no worker consumes them."""
    prefix = f"{QUEUE_PREFIX}depth{uuid.uuid4().hex[:6]}."
    url = RABBITMQ if request.param == "rabbitmq" else ""
    app = create_app(make_settings(BROKER_URL=url, HUB_QUEUE_PREFIX=prefix))
    broker = app.extensions["hub"].broker
    try:
        with app.app_context():
            yield app, prefix
    finally:
        if request.param == "rabbitmq":
            broker.close()
            delete_rabbitmq_queues(RABBITMQ, prefix)
        else:
            broker.flush_all()
        create_app(make_settings())


def test_messages_waiting_in_a_broker_are_counted(broker_app) -> None:
    app, prefix = broker_app
    before = _depths()
    assert set(before) == {prefix + name for name in ("chat", "ledger", "mail", "ops", "payments",
                                                      "video")}
    assert set(before.values()) == {(0, 0)}  # RabbitMQ: none declared there yet

    for _ in range(3):
        release_expired_holds.send()
    release_expired_holds.send_with_options(delay=600_000)

    after = _depths()
    assert after[prefix + "ledger"] == (3, 1)
    assert {q: d for q, d in after.items() if q != prefix + "ledger"} == \
        {q: (0, 0) for q in before if q != prefix + "ledger"}
    home = overview(7)
    assert home.queues is not None and home.messages_waiting == 4 and home.queue_error == ""


def test_the_embedded_broker_counts_its_own_queues(tmp_path) -> None:
    with sqlite_app(tmp_path) as app, app.app_context():
        release_expired_holds.send()
        release_expired_holds.send()
        depths = _depths()
        assert depths[QUEUE_PREFIX + "ledger"] == (2, 0)
        assert sum(sum(d) for q, d in depths.items() if q != QUEUE_PREFIX + "ledger") == 0
        app.extensions["hub"].broker.flush_all()


def test_a_broker_that_does_not_answer_is_said_to_be_so(migrated_database) -> None:
    app = create_app(make_settings(BROKER_URL="amqp://guest:guest@127.0.0.1:1/"))
    try:
        with app.app_context():
            with pytest.raises(QueueDepthUnavailable, match="the broker did not answer"):
                queue_depths()
            home = overview(1)
            assert home.queues is None and home.messages_waiting is None
            assert home.queue_error.startswith("the broker did not answer")
    finally:
        if not db.is_closed():
            db.close()
        create_app(make_settings())


def test_breakers_show_each_channels_state(app) -> None:
    with app.app_context():
        breakers = current_registry().breakers
        assert [(b.channel, b.state, b.failures) for b in breaker_states()] == \
            [("local", "closed", 0)]
        threshold = app.extensions["hub"].settings.HUB_BREAKER_FAILURE_THRESHOLD
        try:
            for _ in range(threshold):
                breakers.record_failure("local", time.time())
            state = breaker_states()[0]
            assert (state.channel, state.provider, state.state, state.failures) == \
                ("local", "local", "open", threshold)
            assert not state.healthy
        finally:
            breakers.record_success("local")
        assert breaker_states()[0].healthy


def test_a_breaker_store_that_does_not_answer_shows_unknown(migrated_database) -> None:
    app = create_app(make_settings(REDIS_URL="redis://127.0.0.1:1/0"))
    try:
        with app.app_context():
            assert [(b.channel, b.state) for b in breaker_states()] == [("local", "unknown")]
    finally:
        create_app(make_settings())


def test_reconciliation_status_says_what_needs_attention(app) -> None:
    with app.app_context():
        assert reconciliation_status().last_status is None
        assert not reconciliation_status().needs_attention
        mismatches = [{"session_id": "cs_1", "problem": "paid but not credited: credited now"},
                      {"session_id": "cs_2", "problem": "amount 600 at Stripe, 500 here"}]
        ReconciliationRun.create(trigger="cli", lookback_hours=24, status="ok", fixed=0,
                                 started_at=utcnow() - timedelta(hours=2))
        run = ReconciliationRun.create(trigger="schedule", lookback_hours=24, status="ok",
                                       fixed=1, mismatches=json.dumps(mismatches))
        status = reconciliation_status()
        assert (status.last_run_id, status.last_status, status.last_fixed,
                status.last_mismatches, status.open_flags) == (run.id, "ok", 1, 1, 0)
        assert status.needs_attention
        ReconciliationRun.update(mismatches="[]", fixed=0).where(
            ReconciliationRun.id == run.id).execute()
        assert not reconciliation_status().needs_attention
        create_payment_flag(create_user())
        assert reconciliation_status().open_flags == 1
        assert reconciliation_status().needs_attention
        now = utcnow()
        overdue = PeriodicJobState("payments.reconcile_payments", 3600, now - timedelta(days=1),
                                   None, None, now)
        assert reconciliation_status(overdue).job.overdue
    if not db.is_closed():
        db.close()

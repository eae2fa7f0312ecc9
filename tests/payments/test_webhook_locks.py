"""No database lock is held while Stripe answers a webhook's question: other payments, other
webhooks and the embedded hub's other writers go on while Stripe is slow.

A probe runs inside the fake Stripe, while each call is in flight, and tries from a connection
of its own what another request would do: lock the payment row (PostgreSQL), or start a write
(SQLite, where a write transaction locks the whole file)."""

from __future__ import annotations

import sqlite3

import psycopg2
import pytest
from psycopg2 import errors as pg_errors

from app import create_app, migrations
from app.services import ledger
from app.services.ledger.checker import check_ledger
from tests.conftest import TEST_DATABASE_URL, make_settings
from tests.factories import auth_headers, create_user
from tests.payments.conftest import SHOP, assert_ledger_consistent, deliver, stripe_settings


def postgres_locks_held() -> list[str]:
    """What another request would wait for right now: an open hub transaction, a locked
    payment row."""
    problems = []
    conn = psycopg2.connect(TEST_DATABASE_URL)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()")
            if cur.fetchone()[0]:
                problems.append("a hub transaction is open")
            try:
                cur.execute("SELECT id FROM payments FOR UPDATE NOWAIT")
            except pg_errors.LockNotAvailable:
                problems.append("a payment row is locked")
        conn.rollback()
    finally:
        conn.close()
    return problems


def test_postgres_no_lock_is_held_while_stripe_answers(buyer) -> None:
    # Given a refund that overtakes the completion webhook: handling it asks Stripe for the
    # checkout session, credits the payment, then asks Stripe for the charge's refunds
    started = buyer.checkout("pro")
    session = buyer.fake.complete_session(started["session_id"])
    charge = buyer.fake.charge_of(session["id"])
    buyer.fake.refund(charge["id"], 1000)
    charge = buyer.fake.charge_of(session["id"])
    seen: list[tuple[str, list[str]]] = []
    buyer.fake.on_request("GET", "/v1/", lambda: seen.append(("GET", postgres_locks_held())))

    response = deliver(buyer.client, "charge.refunded", charge)

    assert response.status_code == 200
    assert len(seen) >= 2  # the session lookup and the refunds list, at least
    assert [problems for _, problems in seen if problems] == []
    assert buyer.balance()["balance"] == 1_050_000
    assert_ledger_consistent()


@pytest.fixture
def embedded(tmp_path, fake_stripe, migrated_database):
    path = tmp_path / "hub.db"
    app = create_app(stripe_settings(fake_stripe, DATABASE_URL=f"sqlite:///{path}",
                                     REDIS_URL="", BROKER_URL=""))
    with app.app_context():
        migrations.upgrade()
    yield app, path
    create_app(make_settings())  # bind the shared database proxy back to this run's PostgreSQL


def sqlite_write_blocked(path) -> list[str]:
    """Another writer of the embedded hub's file, not willing to wait: can it start?"""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return []
    except sqlite3.OperationalError as exc:
        return [str(exc)]
    finally:
        conn.close()


def test_sqlite_other_writers_go_on_while_stripe_answers(embedded, fake_stripe) -> None:
    app, path = embedded
    client = app.test_client()
    user = create_user()
    headers = auth_headers(user, app.extensions["hub"].settings.SECRET_KEY)
    started = client.post("/api/payments/checkout", headers=headers, json={
        "package": "starter", "success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no"}).json
    session = fake_stripe.complete_session(started["session_id"])
    assert deliver(client, "checkout.session.completed", session).status_code == 200
    charge = fake_stripe.charge_of(session["id"])
    refund = fake_stripe.refund(charge["id"], 200, status="pending")
    charge = fake_stripe.charge_of(session["id"])
    seen: list[list[str]] = []
    fake_stripe.on_request("GET", "/v1/refunds", lambda: seen.append(sqlite_write_blocked(path)))

    assert deliver(client, "charge.refunded", charge).status_code == 200
    assert seen == [[]]

    # and the rest of the refund's life on SQLite: it fails, its credits come back
    failed = fake_stripe.set_refund_status(refund["id"], "failed")
    assert deliver(client, "refund.failed", failed).status_code == 200
    with app.app_context():
        assert ledger.get_balance(user.id).balance == 500_000
        assert check_ledger().ok
    assert client.get("/api/payments", headers=headers).json["items"][0]["status"] == "paid"

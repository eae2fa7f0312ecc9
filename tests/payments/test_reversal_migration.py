"""Migration 012 on a database the old code wrote: a second dispute that replayed the first
one's ledger entry (the old per-charge key) took nothing, so winning it gives nothing back.
On PostgreSQL and on SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from peewee_migrate import Router

from app import create_app, migrations
from app.extensions import db
from app.models.payments import Payment
from app.services import ledger
from app.services.ledger.checker import check_ledger
from tests.conftest import ADMIN_URL, RUN_ID, _admin_connection, _with_database, make_settings
from tests.factories import create_user
from tests.payments.conftest import WEBHOOK_SECRET, deliver

BEFORE_012 = "010_job_open_checked"


@pytest.fixture(params=["postgres", "sqlite"])
def database_url(request, tmp_path, migrated_database) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hub.sqlite3"
    else:
        name = f"hub_test_{RUN_ID}_m012"
        conn = _admin_connection()
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield _with_database(ADMIN_URL, name)
        if db.obj is not None and hasattr(db.obj, "close_all"):
            db.obj.close_all()
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
    create_app(make_settings())  # bind the shared database proxy back to this run's database


def old_code_state() -> tuple[int, int]:
    """What the old code wrote for two 100-cent disputes on one 500-cent charge: the first
    took 100,000 credits under `stripe:refund:<charge>`, the second replayed that entry."""
    user = create_user()
    purchase = ledger.credit(user.id, 500_000, kind="purchase",
                             idempotency_key="stripe:checkout:cs_legacy")
    payment = Payment.create(user=user, package_slug="starter", package_name="Starter",
                             amount_cents=500, currency="usd", amount_credits=500_000,
                             status="disputed", stripe_session_id="cs_legacy",
                             stripe_charge_id="ch_legacy", ledger_entry_id=purchase.entry_id,
                             reversed_credits=200_000, shortfall_credits=0)
    taken = ledger.debit(user.id, 100_000, kind="reversal",
                         idempotency_key="stripe:refund:ch_legacy", allow_partial=True)
    for dispute_id in ("du_first", "du_second"):
        db.execute_sql(
            "INSERT INTO payment_reversals (payment_id, kind, stripe_id, amount_cents, "
            "reversed_credits, debited_credits, shortfall_credits, ledger_entry_id, created_at) "
            "VALUES (%s, 'dispute', %s, 100, 100000, 100000, 0, %s, CURRENT_TIMESTAMP)"
            .replace("%s", "?" if db.param == "?" else "%s"),
            (payment.id, dispute_id, taken.entry_id))
    return user.id, payment.id


def won(dispute_id: str) -> dict:
    return {"id": dispute_id, "object": "dispute", "amount": 100, "charge": "ch_legacy",
            "currency": "usd", "payment_intent": None, "status": "won"}


def test_012_a_replayed_dispute_row_took_nothing_and_gives_nothing_back(database_url) -> None:
    app = create_app(make_settings(DATABASE_URL=database_url, REDIS_URL="", BROKER_URL="",
                                   STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET))
    with app.app_context(), db.connection_context():
        Router(db, migrate_dir=migrations.MIGRATIONS_DIR).run(BEFORE_012)
        user_id, payment_id = old_code_state()
        migrations.upgrade()
        payment = Payment.get_by_id(payment_id)
        assert (payment.reversed_credits, payment.shortfall_credits) == (200_000, 100_000)

    client = app.test_client()
    for dispute_id in ("du_second", "du_first"):
        assert deliver(client, "charge.dispute.closed", won(dispute_id)).status_code == 200

    with app.app_context(), db.connection_context():
        assert ledger.get_balance(user_id).balance == 500_000  # what was bought, not more
        payment = Payment.get_by_id(payment_id)
        assert (payment.status, payment.reversed_credits, payment.shortfall_credits) == \
            ("paid", 0, 0)
        assert check_ledger().ok

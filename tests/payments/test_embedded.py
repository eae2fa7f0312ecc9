"""`make run`'s embedded mode: SQLite migrated from scratch, packages seeded, a purchase works."""

from __future__ import annotations

import pytest

from app import create_app, migrations
from app.services import ledger
from tests.conftest import make_settings
from tests.factories import auth_headers, create_user
from tests.payments.conftest import SHOP, deliver, stripe_settings


@pytest.fixture
def sqlite_app(tmp_path, fake_stripe, migrated_database):
    app = create_app(stripe_settings(fake_stripe, DATABASE_URL=f"sqlite:///{tmp_path}/hub.db",
                                     REDIS_URL="", BROKER_URL=""))
    with app.app_context():
        migrations.upgrade()
    yield app
    create_app(make_settings())  # bind the shared database proxy back to this run's PostgreSQL


def test_a_purchase_on_the_embedded_sqlite_database(sqlite_app, fake_stripe) -> None:
    client = sqlite_app.test_client()
    packages = client.get("/api/payments/packages").json["items"]
    assert [p["id"] for p in packages] == ["starter", "pro", "business"]  # seeded by 005

    user = create_user()
    headers = auth_headers(user, sqlite_app.extensions["hub"].settings.SECRET_KEY)
    started = client.post("/api/payments/checkout", headers=headers, json={
        "package": "starter", "success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no"}).json
    session = fake_stripe.complete_session(started["session_id"])
    assert deliver(client, "checkout.session.completed", session).status_code == 200
    assert deliver(client, "checkout.session.completed", session).status_code == 200

    with sqlite_app.app_context():
        assert ledger.get_balance(user.id).balance == 500_000
    assert client.get("/api/payments", headers=headers).json["items"][0]["status"] == "paid"

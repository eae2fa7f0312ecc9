"""Payments fixtures: localstripe plus the Checkout fake on 127.0.0.1, a hub configured for
them, and helpers that act as the buyer and as Stripe's webhook sender."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from app import create_app
from app.config import Settings
from app.models.ledger import LedgerEntry
from app.models.users import User
from app.services.ledger.checker import check_ledger
from app.services.payments.packages import ensure_default_packages
from tests.conftest import _truncate_all_tables, make_settings
from tests.factories import auth_headers, create_user
from tests.fake_stripe import FakeStripe, LocalStripe, signed_event

API_KEY = "sk_test_hub_payments"
WEBHOOK_SECRET = "whsec_test_hub_payments"
SHOP = "https://shop.example.com"


@pytest.fixture(scope="session")
def stripe_servers() -> Iterator[FakeStripe]:
    emulator = LocalStripe().start()
    fake = FakeStripe(emulator.url, api_key=API_KEY).start()
    yield fake
    fake.stop()
    emulator.stop()


@pytest.fixture
def fake_stripe(stripe_servers: FakeStripe) -> Iterator[FakeStripe]:
    stripe_servers.reset()
    yield stripe_servers
    stripe_servers.reset()


def stripe_settings(fake: FakeStripe, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "STRIPE_SECRET_KEY": API_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": fake.url, "HUB_ALLOWED_REDIRECT_ORIGINS": SHOP}
    return make_settings(**(values | overrides))


@pytest.fixture
def app_factory(migrated_database, fake_stripe):
    """Build hub apps (Stripe configured unless `stripe=False`); the tables are emptied after."""

    def build(*, stripe: bool = True, **overrides: object):
        settings = stripe_settings(fake_stripe, **overrides) if stripe else \
            make_settings(**overrides)
        application = create_app(settings)
        with application.app_context():
            ensure_default_packages()
        return application

    yield build
    _truncate_all_tables()


@pytest.fixture
def pay_app(app_factory):
    return app_factory()


@dataclass
class Buyer:
    """A verified user of the hub, with a client and Stripe's side of the purchase."""

    user: User
    client: FlaskClient
    headers: dict[str, str]
    fake: FakeStripe

    def checkout(self, package: str = "starter") -> dict[str, Any]:
        response = self.client.post("/api/payments/checkout", headers=self.headers, json={
            "package": package, "success_url": f"{SHOP}/thanks?s={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{SHOP}/cancelled"})
        assert response.status_code == 200, response.json
        return response.json

    def balance(self) -> dict[str, int]:
        from app.services import ledger

        with self.client.application.app_context():
            got = ledger.get_balance(self.user.id)
        return {"balance": got.balance, "held": got.held, "available": got.available}

    def spend(self, amount_credits: int) -> None:
        """Use credits the way jobs do (a `usage` debit), so a refund finds them spent."""
        from app.services import ledger

        with self.client.application.app_context():
            ledger.debit(self.user.id, amount_credits, kind="usage",
                         idempotency_key=f"test:spend:{self.user.id}")

    def payments(self) -> list[dict[str, Any]]:
        response = self.client.get("/api/payments", headers=self.headers)
        assert response.status_code == 200, response.json
        return response.json["items"]


@pytest.fixture
def buyer(pay_app, fake_stripe) -> Buyer:
    user = create_user()
    return Buyer(user, pay_app.test_client(),
                 auth_headers(user, pay_app.extensions["hub"].settings.SECRET_KEY), fake_stripe)


def deliver(client: FlaskClient, event_type: str, obj: dict[str, Any], **kwargs: Any):
    """Stripe's webhook delivery of one event; returns the hub's response."""
    body, headers = signed_event(WEBHOOK_SECRET, event_type, obj, **kwargs)
    return client.post("/api/payments/webhook", data=body, headers=headers)


def dead_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (Stripe unreachable)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def assert_ledger_consistent() -> None:
    """The ledger area's checker (`flask ledger check`) finds no violated invariant."""
    report = check_ledger()
    assert report.ok, [str(v) for v in report.violations]


def ledger_entries(user_id: int) -> list[tuple[str, int, str]]:
    return [(e.kind, e.amount_credits, e.idempotency_key) for e in LedgerEntry.select()
            .where(LedgerEntry.account == user_id).order_by(LedgerEntry.id)]

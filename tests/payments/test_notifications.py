"""E-mails about money, through the real mail actor and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from app.embedded import start_embedded_worker
from app.models.payments import LowBalanceAlert
from app.tasks.mail import send_mail
from app.tasks.payments import check_low_balances
from tests.accounts.conftest import Mailbox, text_of
from tests.factories import auth_headers, create_user
from tests.payments.conftest import Buyer, deliver


class MailingHub:
    """A hub with the in-memory broker, worker threads, and mail to the test SMTP server."""

    def __init__(self, app, buyer: Buyer, mailbox: Mailbox) -> None:
        self.app, self.buyer, self.mailbox = app, buyer, mailbox
        self.worker = start_embedded_worker(app)

    def drain(self) -> None:
        """Return once every message sent so far (payments sweeps, then mail) is processed."""
        broker = self.app.extensions["hub"].broker
        broker.join(check_low_balances.queue_name, timeout=15_000)
        broker.join(send_mail.queue_name, timeout=15_000)
        self.worker.join()

    def sweep(self) -> None:
        with self.app.app_context():
            check_low_balances.send()
        self.drain()

    def buy(self, package: str = "starter") -> dict:
        started = self.buyer.checkout(package)
        session = self.buyer.fake.complete_session(started["session_id"])
        assert deliver(self.buyer.client, "checkout.session.completed", session).status_code == 200
        self.drain()
        return session


@pytest.fixture
def hub(app_factory, fake_stripe) -> Iterator[MailingHub]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    app = app_factory(REDIS_URL="", BROKER_URL="", SMTP_URL=f"smtp://127.0.0.1:{box.port}")
    user = create_user(name="Ada")
    headers = auth_headers(user, app.extensions["hub"].settings.SECRET_KEY)
    running = MailingHub(app, Buyer(user, app.test_client(), headers, fake_stripe), box)
    try:
        yield running
    finally:
        running.worker.stop()
        controller.stop()


def test_a_credited_purchase_mails_one_receipt(hub) -> None:
    session = hub.buy("pro")
    deliver(hub.buyer.client, "checkout.session.completed", session)  # a duplicate
    hub.drain()

    mail = hub.mailbox.next_to(hub.buyer.user.email)
    assert mail["Subject"] == "Your receipt: 2,100,000 credits (Pro)"
    text = text_of(mail)
    assert "Hello Ada," in text and "20.00 USD" in text
    assert "your balance is now 2,100,000 credits" in " ".join(text.split())
    charge = hub.buyer.fake.charge_of(session["id"])
    assert f"Stripe's receipt: {charge['receipt_url']}" in text
    assert hub.mailbox.empty()


def test_a_refund_after_spending_mails_what_was_taken_back(hub) -> None:
    session = hub.buy()
    hub.mailbox.next()  # the receipt
    hub.buyer.spend(400_000)
    charge = hub.buyer.fake.charge_of(session["id"])
    hub.buyer.fake.refund(charge["id"])
    deliver(hub.buyer.client, "charge.refunded", hub.buyer.fake.charge_of(session["id"]))
    hub.drain()

    mail = hub.mailbox.next_to(hub.buyer.user.email)
    assert mail["Subject"] == "Your refund was processed: 500,000 credits taken back"
    text = " ".join(text_of(mail).split())
    assert "Credits taken back: 100,000 of 500,000." in text
    assert "400,000 of them had already been used" in text
    assert "Your balance is now 0 credits." in text
    assert hub.mailbox.empty()


def test_a_dispute_mails_the_user(hub) -> None:
    session = hub.buy()
    hub.mailbox.next()
    deliver(hub.buyer.client, "charge.dispute.created",
            hub.buyer.fake.dispute(hub.buyer.fake.charge_of(session["id"])))
    hub.drain()
    mail = hub.mailbox.next_to(hub.buyer.user.email)
    assert mail["Subject"] == "A payment was disputed: 500,000 credits taken back"
    assert "Your bank disputed the payment of 5.00 USD" in " ".join(text_of(mail).split())


def test_the_low_balance_alert_mails_once_per_crossing(hub) -> None:
    client, headers = hub.buyer.client, hub.buyer.headers
    assert client.get("/api/payments/low-balance-alert", headers=headers).json == {
        "threshold_credits": 0, "armed": False}
    hub.buy()  # 500,000
    hub.mailbox.next()
    response = client.put("/api/payments/low-balance-alert", headers=headers,
                          json={"threshold_credits": 300_000})
    assert response.json == {"threshold_credits": 300_000, "armed": True}

    hub.buyer.spend(250_000)  # 250,000 left: below the threshold
    hub.sweep()
    hub.sweep()  # still below: no second mail
    mail = hub.mailbox.next_to(hub.buyer.user.email)
    assert mail["Subject"] == "Your Smart AI Hub credits are running low (250,000 left)"
    assert "fallen below the alert you set at 300,000" in " ".join(text_of(mail).split())
    assert hub.mailbox.empty()
    assert client.get("/api/payments/low-balance-alert", headers=headers).json["armed"] is False

    hub.buy()  # back to 750,000: the purchase re-arms the alert
    assert hub.mailbox.next()["Subject"].startswith("Your receipt")
    assert client.get("/api/payments/low-balance-alert", headers=headers).json["armed"] is True
    with hub.app.app_context():
        from app.services import ledger

        ledger.debit(hub.buyer.user.id, 500_000, kind="usage", idempotency_key="test:second")
    hub.sweep()
    assert hub.mailbox.next()["Subject"].endswith("(250,000 left)")
    assert hub.mailbox.empty()


def test_a_threshold_set_while_already_below_waits_for_the_next_crossing(hub) -> None:
    response = hub.buyer.client.put("/api/payments/low-balance-alert", headers=hub.buyer.headers,
                                    json={"threshold_credits": 1_000})
    assert response.json == {"threshold_credits": 1_000, "armed": False}
    hub.sweep()
    assert hub.mailbox.empty()
    off = hub.buyer.client.put("/api/payments/low-balance-alert", headers=hub.buyer.headers,
                               json={"threshold_credits": 0})
    assert off.json == {"threshold_credits": 0, "armed": False}
    assert LowBalanceAlert.get().notified_at is None


def test_bad_thresholds_are_422_and_anonymous_callers_401(hub) -> None:
    client, headers = hub.buyer.client, hub.buyer.headers
    for body in ({"threshold_credits": -1}, {"threshold_credits": "lots"}, {}):
        response = client.put("/api/payments/low-balance-alert", headers=headers, json=body)
        assert response.status_code == 422
        assert response.json["error"]["message"].startswith("threshold_credits:")
    assert LowBalanceAlert.select().count() == 0
    assert client.get("/api/payments/low-balance-alert").status_code == 401

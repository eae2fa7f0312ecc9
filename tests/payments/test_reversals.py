"""Refunds and disputes through their whole life: every Stripe transition, delivered as a signed
webhook to the real endpoint, moves credits once; duplicates, replays and stale events move
nothing more; the ledger checker stays clean after each step."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from app.extensions import db
from app.models.payments import Payment, StripeEvent
from tests.factories import auth_headers, create_user
from tests.fake_stripe import signed_event
from tests.payments.conftest import WEBHOOK_SECRET, Buyer, assert_ledger_consistent, ledger_entries


class Stripe:
    """Stripe's webhook sender for one buyer: delivers events and remembers them, so a test can
    end with every delivery repeated (same event id) and every object re-sent (new ids)."""

    def __init__(self, buyer: Buyer) -> None:
        self.buyer = buyer
        self.sent: list[tuple[str, dict[str, Any], bytes, dict[str, str]]] = []

    def send(self, event_type: str, obj: dict[str, Any]) -> None:
        body, headers = signed_event(WEBHOOK_SECRET, event_type, obj)
        response = self.buyer.client.post("/api/payments/webhook", data=body, headers=headers)
        assert response.status_code == 200, (event_type, response.json)
        assert response.json == {"received": True, "duplicate": False}
        self.sent.append((event_type, obj, body, headers))
        assert_ledger_consistent()

    def state(self) -> tuple:
        payments = [(p.status, p.reversed_credits, p.shortfall_credits)
                    for p in Payment.select().order_by(Payment.id)]
        return self.buyer.balance(), ledger_entries(self.buyer.user.id), payments, \
            [p["status"] for p in self.buyer.payments()]

    def replay_everything(self) -> None:
        """Each delivery again (a duplicate), then each object again under a new event id, in
        reverse order (stale ones last): nothing moves."""
        before = self.state()
        for _, _, body, headers in self.sent:
            response = self.buyer.client.post("/api/payments/webhook", data=body,
                                              headers=headers)
            assert response.status_code == 200 and response.json["duplicate"] is True
        for event_type, obj, _, _ in reversed(self.sent):
            body, headers = signed_event(WEBHOOK_SECRET, event_type, obj)
            response = self.buyer.client.post("/api/payments/webhook", data=body,
                                              headers=headers)
            assert response.status_code == 200 and response.json["duplicate"] is False
        assert self.state() == before
        assert_ledger_consistent()


@pytest.fixture
def stripe(buyer: Buyer) -> Stripe:
    return Stripe(buyer)


def credited(buyer: Buyer, stripe: Stripe, package: str = "starter") -> tuple[dict, dict]:
    """A paid, credited purchase: (the session, its charge as Stripe shows it)."""
    started = buyer.checkout(package)
    session = buyer.fake.complete_session(started["session_id"])
    stripe.send("checkout.session.completed", session)
    return session, buyer.fake.charge_of(session["id"])


def keys(buyer: Buyer) -> list[tuple[int, str]]:
    return [(amount, key) for _, amount, key in ledger_entries(buyer.user.id)]


# --- refunds --------------------------------------------------------------------------------

@pytest.mark.parametrize(("event_type", "ending"), [
    ("charge.refund.updated", "failed"), ("charge.refund.updated", "canceled"),
    ("refund.failed", "failed"), ("refund.updated", "canceled")])
def test_a_pending_refund_is_reversed_at_once_and_given_back_when_it_fails(
        buyer, stripe, event_type, ending) -> None:
    session, charge = credited(buyer, stripe)
    refund = buyer.fake.refund(charge["id"], status="pending")

    stripe.send("charge.refunded", buyer.fake.charge_of(session["id"]))
    assert buyer.balance()["balance"] == 0
    assert buyer.payments()[0]["status"] == "refunded"

    stripe.send(event_type, buyer.fake.set_refund_status(refund["id"], ending))

    assert buyer.balance() == {"balance": 500_000, "held": 0, "available": 500_000}
    assert buyer.payments()[0]["status"] == "paid"
    assert keys(buyer) == [(500_000, f"stripe:checkout:{session['id']}"),
                           (-500_000, f"stripe:refund:{refund['id']}:reverse"),
                           (500_000, f"stripe:refund:{refund['id']}:restore")]
    assert (Payment.get().reversed_credits, Payment.get().shortfall_credits) == (0, 0)
    stripe.replay_everything()


def test_a_refund_that_fails_after_it_succeeded_gives_the_credits_back(buyer, stripe) -> None:
    session, charge = credited(buyer, stripe, "pro")
    refund = buyer.fake.refund(charge["id"], 1000, status="pending")  # half of US$20
    stripe.send("charge.refunded", buyer.fake.charge_of(session["id"]))
    assert buyer.balance()["balance"] == 1_050_000
    assert buyer.payments()[0]["status"] == "partially_refunded"

    stripe.send("charge.refund.updated", buyer.fake.set_refund_status(refund["id"], "succeeded"))
    assert buyer.balance()["balance"] == 1_050_000  # succeeding moves nothing more

    stripe.send("refund.failed", buyer.fake.set_refund_status(refund["id"], "failed"))
    assert buyer.balance()["balance"] == 2_100_000
    assert buyer.payments()[0]["status"] == "paid"
    stripe.replay_everything()


def test_refund_events_in_any_order_move_credits_once(buyer, stripe) -> None:
    session, charge = credited(buyer, stripe)
    # Given a pending refund whose own event overtakes charge.refunded
    first = buyer.fake.refund(charge["id"], 200, status="pending")
    stripe.send("refund.updated", first)
    assert buyer.balance()["balance"] == 300_000  # reversed as soon as the hub hears of it
    assert buyer.payments()[0]["status"] == "partially_refunded"
    # and a refund that had already failed when its first event arrived
    second = buyer.fake.refund(charge["id"], 300, status="failed")
    stripe.send("refund.failed", second)
    assert buyer.balance()["balance"] == 300_000  # nothing was taken, nothing is given

    # When the first fails too, then the late charge.refunded and stale events arrive
    stripe.send("refund.failed", buyer.fake.set_refund_status(first["id"], "failed"))
    stripe.send("charge.refunded", buyer.fake.charge_of(session["id"]))
    stripe.send("charge.refund.updated", first)  # still says pending
    stripe.send("refund.created", dict(second, status="pending"))

    # Then each refund moved credits once per transition, and the payment is whole again
    assert buyer.balance()["balance"] == 500_000
    assert keys(buyer)[1:] == [(-200_000, f"stripe:refund:{first['id']}:reverse"),
                               (200_000, f"stripe:refund:{first['id']}:restore")]
    assert buyer.payments()[0]["status"] == "paid"
    stripe.replay_everything()


def test_one_failure_announced_by_many_events_at_once_gives_back_once(buyer, stripe) -> None:
    session, charge = credited(buyer, stripe)
    refund = buyer.fake.refund(charge["id"], status="pending")
    stripe.send("charge.refunded", buyer.fake.charge_of(session["id"]))
    failed = buyer.fake.set_refund_status(refund["id"], "failed")
    deliveries = [signed_event(WEBHOOK_SECRET, event_type, obj) for event_type, obj in
                  [("refund.failed", failed), ("refund.updated", failed),
                   ("charge.refund.updated", failed),
                   ("charge.refunded", buyer.fake.charge_of(session["id"]))] * 4]
    start = threading.Barrier(len(deliveries))

    def post(delivery: tuple[bytes, dict[str, str]]) -> int:
        client = buyer.client.application.test_client()
        start.wait()
        try:
            return client.post("/api/payments/webhook", data=delivery[0],
                               headers=delivery[1]).status_code
        finally:
            if not db.is_closed():
                db.close()

    with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
        statuses = list(pool.map(post, deliveries))

    assert statuses == [200] * len(deliveries)
    assert buyer.balance()["balance"] == 500_000
    assert keys(buyer)[1:] == [(-500_000, f"stripe:refund:{refund['id']}:reverse"),
                               (500_000, f"stripe:refund:{refund['id']}:restore")]
    assert buyer.payments()[0]["status"] == "paid"
    assert_ledger_consistent()


# --- disputes -------------------------------------------------------------------------------

@pytest.mark.parametrize("ending", [
    [("charge.dispute.closed", "won")],
    [("charge.dispute.funds_reinstated", "won")],
    [("charge.dispute.closed", "won"), ("charge.dispute.funds_reinstated", "won")],
    [("charge.dispute.funds_reinstated", "under_review"), ("charge.dispute.closed", "won")],
])
def test_a_won_dispute_gives_the_credits_back(buyer, stripe, ending) -> None:
    session, charge = credited(buyer, stripe, "pro")
    dispute = buyer.fake.dispute(charge)
    stripe.send("charge.dispute.created", dispute)
    stripe.send("charge.dispute.updated", dict(dispute, status="under_review"))
    assert buyer.balance()["balance"] == 0
    assert buyer.payments()[0]["status"] == "disputed"

    for event_type, status in ending:
        stripe.send(event_type, dict(dispute, status=status))

    assert buyer.balance()["balance"] == 2_100_000
    assert buyer.payments()[0]["status"] == "paid"
    assert keys(buyer) == [(2_100_000, f"stripe:checkout:{session['id']}"),
                           (-2_100_000, f"stripe:dispute:{dispute['id']}:reverse"),
                           (2_100_000, f"stripe:dispute:{dispute['id']}:reinstate")]
    stripe.replay_everything()


def test_an_inquiry_closed_without_a_chargeback_gives_the_credits_back(buyer, stripe) -> None:
    _, charge = credited(buyer, stripe)
    inquiry = buyer.fake.dispute(charge, status="warning_needs_response")
    stripe.send("charge.dispute.created", inquiry)
    assert buyer.balance()["balance"] == 0

    stripe.send("charge.dispute.closed", dict(inquiry, status="warning_closed"))
    assert buyer.balance()["balance"] == 500_000
    assert buyer.payments()[0]["status"] == "paid"
    stripe.replay_everything()


def test_a_lost_dispute_changes_nothing_more(buyer, stripe) -> None:
    _, charge = credited(buyer, stripe)
    dispute = buyer.fake.dispute(charge)
    stripe.send("charge.dispute.created", dispute)
    stripe.send("charge.dispute.funds_withdrawn", dispute)
    stripe.send("charge.dispute.closed", dict(dispute, status="lost"))

    assert buyer.balance()["balance"] == 0
    assert buyer.payments()[0]["status"] == "disputed"
    assert keys(buyer)[1:] == [(-500_000, f"stripe:dispute:{dispute['id']}:reverse")]

    # a dispute whose created event never arrived is reversed by its closing one, once
    _, other_charge = credited(buyer, stripe)
    missed = buyer.fake.dispute(other_charge, status="lost")
    stripe.send("charge.dispute.closed", missed)
    assert buyer.balance()["balance"] == 0
    assert [p["status"] for p in buyer.payments()] == ["disputed", "disputed"]
    stripe.replay_everything()


def test_two_disputes_on_one_charge_are_each_reversed_once(buyer, stripe) -> None:
    session, charge = credited(buyer, stripe, "pro")  # US$20, 2,100,000 credits
    first = buyer.fake.dispute(charge, 500)
    second = buyer.fake.dispute(charge, 1500)

    stripe.send("charge.dispute.created", first)
    stripe.send("charge.dispute.created", second)
    assert buyer.balance()["balance"] == 0
    assert keys(buyer)[1:] == [(-525_000, f"stripe:dispute:{first['id']}:reverse"),
                               (-1_575_000, f"stripe:dispute:{second['id']}:reverse")]

    stripe.send("charge.dispute.closed", dict(first, status="won"))
    stripe.send("charge.dispute.closed", dict(second, status="lost"))
    assert buyer.balance()["balance"] == 525_000
    assert buyer.payments()[0]["status"] == "disputed"  # the lost one still holds its credits
    payment = Payment.get()
    assert (payment.reversed_credits, payment.shortfall_credits) == (1_575_000, 0)
    stripe.replay_everything()


def test_a_user_who_spent_the_credits_then_wins_the_dispute(buyer, stripe, pay_app) -> None:
    _, charge = credited(buyer, stripe, "pro")
    buyer.spend(2_000_000)
    dispute = buyer.fake.dispute(charge)
    stripe.send("charge.dispute.created", dispute)
    assert buyer.balance()["balance"] == 0  # 100,000 taken, 2,000,000 short
    assert (Payment.get().reversed_credits, Payment.get().shortfall_credits) == \
        (2_100_000, 2_000_000)

    stripe.send("charge.dispute.closed", dict(dispute, status="won"))

    # the shortfall is cleared, and only what was taken comes back
    assert buyer.balance()["balance"] == 100_000
    assert keys(buyer)[-1] == (100_000, f"stripe:dispute:{dispute['id']}:reinstate")
    payment = Payment.get()
    assert (payment.status, payment.reversed_credits, payment.shortfall_credits) == \
        ("paid", 0, 0)
    admin = auth_headers(create_user(role="admin"), pay_app.extensions["hub"].settings.SECRET_KEY)
    flags = buyer.client.get("/api/admin/payments/flags?include_resolved=true",
                             headers=admin).json["items"]
    resolved = {f["kind"]: f["resolved_at"] is not None for f in flags}
    assert resolved == {"dispute": False, "dispute_shortfall": True}
    open_flags = buyer.client.get("/api/admin/payments/flags", headers=admin).json["items"]
    assert [f["kind"] for f in open_flags] == ["dispute"]
    stripe.replay_everything()


def test_a_dispute_won_before_the_hub_heard_of_it_takes_nothing(buyer, stripe) -> None:
    _, charge = credited(buyer, stripe)
    dispute = buyer.fake.dispute(charge)
    stripe.send("charge.dispute.closed", dict(dispute, status="won"))
    stripe.send("charge.dispute.created", dispute)  # delivered late

    assert buyer.balance()["balance"] == 500_000
    assert [kind for kind, _, _ in ledger_entries(buyer.user.id)] == ["purchase"]
    assert buyer.payments()[0]["status"] == "paid"
    stripe.replay_everything()


def test_a_refund_issued_during_an_inquiry_keeps_the_credits_when_the_inquiry_closes(
        buyer, stripe, pay_app) -> None:
    """Stripe's advice for an inquiry the merchant agrees with: refund, and it closes."""
    session, charge = credited(buyer, stripe)
    buyer.spend(400_000)
    inquiry = buyer.fake.dispute(charge, status="warning_needs_response")
    stripe.send("charge.dispute.created", inquiry)  # takes 100,000; 400,000 short
    refund = buyer.fake.refund(charge["id"])
    stripe.send("charge.refunded", buyer.fake.charge_of(session["id"]))  # nothing left to take

    stripe.send("charge.dispute.closed", dict(inquiry, status="warning_closed"))

    # the refund still needs what the inquiry had taken: nothing comes back
    assert buyer.balance()["balance"] == 0
    assert buyer.payments()[0]["status"] == "refunded"
    payment = Payment.get()
    assert (payment.reversed_credits, payment.shortfall_credits) == (500_000, 400_000)
    admin = auth_headers(create_user(role="admin"), pay_app.extensions["hub"].settings.SECRET_KEY)
    flags = buyer.client.get("/api/admin/payments/flags", headers=admin).json["items"]
    assert sorted((f["kind"], f["reference"], f["shortfall_credits"]) for f in flags) == [
        ("dispute", inquiry["id"], 0), ("refund_shortfall", refund["id"], 400_000)]

    # and if that refund then fails, what was taken comes back and nothing is owed
    stripe.send("refund.failed", buyer.fake.set_refund_status(refund["id"], "failed"))
    assert buyer.balance()["balance"] == 100_000
    assert buyer.payments()[0]["status"] == "paid"
    payment = Payment.get()
    assert (payment.reversed_credits, payment.shortfall_credits) == (0, 0)
    assert [f["kind"] for f in buyer.client.get("/api/admin/payments/flags",
                                                headers=admin).json["items"]] == ["dispute"]
    assert keys(buyer)[2:] == [(-100_000, f"stripe:dispute:{inquiry['id']}:reverse"),
                               (100_000, f"stripe:refund:{refund['id']}:restore")]
    stripe.replay_everything()


@pytest.mark.parametrize(("event_type", "change", "named"), [
    ("refund.failed", {"amount": "lots"}, "amount"),
    ("charge.refund.updated", {"amount": 10**12}, "amount"),
    ("refund.updated", {"status": {"failed": True}}, "status"),
    ("charge.dispute.closed", {"amount": -1, "status": "won"}, "amount"),
    ("charge.dispute.funds_reinstated", {"id": None}, "id"),
])
def test_a_signed_refund_or_dispute_the_hub_cannot_read_is_400_and_changes_nothing(
        buyer, stripe, event_type, change, named) -> None:
    session, charge = credited(buyer, stripe)
    refund = buyer.fake.refund(charge["id"], status="pending")
    stripe.send("charge.refunded", buyer.fake.charge_of(session["id"]))
    obj = buyer.fake.dispute(charge) if "dispute" in event_type else \
        buyer.fake.set_refund_status(refund["id"], "failed")
    before = stripe.state()

    body, headers = signed_event(WEBHOOK_SECRET, event_type, {**obj, **change})
    response = buyer.client.post("/api/payments/webhook", data=body, headers=headers)

    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_payload"
    assert named in response.json["error"]["message"]
    assert stripe.state() == before
    assert StripeEvent.select().where(StripeEvent.type == event_type).count() == 0
    assert_ledger_consistent()


def test_a_dispute_id_seen_on_another_charge_is_400_and_changes_nothing(buyer, stripe) -> None:
    _, first_charge = credited(buyer, stripe)
    _, second_charge = credited(buyer, stripe)
    dispute = buyer.fake.dispute(first_charge)
    stripe.send("charge.dispute.created", dispute)
    before = stripe.state()

    moved = dict(dispute, charge=second_charge["id"], status="won")
    body, headers = signed_event(WEBHOOK_SECRET, "charge.dispute.closed", moved)
    response = buyer.client.post("/api/payments/webhook", data=body, headers=headers)

    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_payload"
    assert dispute["id"] in response.json["error"]["message"]
    assert stripe.state() == before
    assert_ledger_consistent()

"""The Stripe webhook: signed, recorded once, credited exactly once, refunds and disputes."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from app.extensions import db
from app.models.payments import Payment, PaymentFlag, PaymentReversal, StripeEvent
from tests.fake_stripe import sign, signed_event
from tests.payments.conftest import (
    WEBHOOK_SECRET,
    assert_ledger_consistent,
    deliver,
    ledger_entries,
)


def paid_session(buyer, package: str = "starter") -> dict:
    started = buyer.checkout(package)
    return buyer.fake.complete_session(started["session_id"])


def test_a_user_buys_a_package_end_to_end(buyer) -> None:
    session = paid_session(buyer, "pro")

    response = deliver(buyer.client, "checkout.session.completed", session)

    assert response.status_code == 200
    assert response.json == {"received": True, "duplicate": False}
    assert buyer.balance() == {"balance": 2_100_000, "held": 0, "available": 2_100_000}
    [payment] = buyer.payments()
    assert payment["status"] == "paid" and payment["credits"] == 2_100_000
    assert ledger_entries(buyer.user.id) == [
        ("purchase", 2_100_000, f"stripe:checkout:{session['id']}")]
    row = Payment.get()
    assert row.stripe_payment_intent_id == session["payment_intent"]
    assert row.stripe_charge_id == buyer.fake.charge_of(session["id"])["id"]  # from Stripe
    assert_ledger_consistent()


def test_the_same_event_delivered_50_times_at_once_credits_once(buyer) -> None:
    session = paid_session(buyer)
    body, headers = signed_event(WEBHOOK_SECRET, "checkout.session.completed", session)
    start = threading.Barrier(50)

    def deliver_once(_: int) -> tuple[int, bool]:
        client = buyer.client.application.test_client()
        start.wait()
        try:
            response = client.post("/api/payments/webhook", data=body, headers=headers)
            return response.status_code, response.json["duplicate"]
        finally:
            if not db.is_closed():
                db.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(deliver_once, range(50)))

    assert [status for status, _ in results] == [200] * 50
    assert sorted(duplicate for _, duplicate in results) == [False] + [True] * 49
    assert buyer.balance()["balance"] == 500_000
    assert len(ledger_entries(buyer.user.id)) == 1
    assert StripeEvent.select().count() == 1
    assert_ledger_consistent()


def test_different_events_for_one_session_credit_once(buyer) -> None:
    """Stripe may send completed and async_payment_succeeded, or resend with new event ids."""
    session = paid_session(buyer)
    for event_type in ("checkout.session.completed", "checkout.session.completed",
                       "checkout.session.async_payment_succeeded"):
        response = deliver(buyer.client, event_type, session)
        assert response.status_code == 200 and response.json["duplicate"] is False
    assert buyer.balance()["balance"] == 500_000
    assert len(ledger_entries(buyer.user.id)) == 1
    assert_ledger_consistent()


def test_bad_signatures_and_stale_timestamps_are_400_and_change_nothing(buyer) -> None:
    session = paid_session(buyer)
    body, good = signed_event(WEBHOOK_SECRET, "checkout.session.completed", session)
    stale = sign(body, WEBHOOK_SECRET, timestamp=int(time.time()) - 301)
    cases = {
        "wrong secret": {"Stripe-Signature": sign(body, "whsec_someone_else")},
        "stale timestamp": {"Stripe-Signature": stale},
        "no header": {},
        "garbage header": {"Stripe-Signature": "nonsense"},
        "tampered body": good,
    }
    for name, headers in cases.items():
        data = body.replace(b'"paid"', b'"paid" ') if name == "tampered body" else body
        response = buyer.client.post("/api/payments/webhook", data=data, headers=headers)
        assert response.status_code == 400, name
        assert response.json["error"]["code"] == "invalid_signature", name

    assert StripeEvent.select().count() == 0
    assert buyer.balance()["balance"] == 0
    assert buyer.payments()[0]["status"] == "pending"
    # the genuine delivery still works afterwards
    assert buyer.client.post("/api/payments/webhook", data=body,
                             headers=good).json["duplicate"] is False
    assert buyer.balance()["balance"] == 500_000


def test_a_body_that_is_not_an_event_is_400(buyer) -> None:
    for body in (b"not json", b"[1, 2]", b'{"id": "evt_1"}'):
        response = buyer.client.post("/api/payments/webhook", data=body,
                                     headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET)})
        assert response.status_code == 400
        assert response.json["error"]["code"] == "invalid_payload"
    assert StripeEvent.select().count() == 0


def test_unknown_event_types_are_acknowledged_and_ignored(buyer) -> None:
    response = deliver(buyer.client, "customer.created", {"id": "cus_1", "object": "customer"})
    assert response.status_code == 200
    assert response.json == {"received": True, "duplicate": False}
    assert StripeEvent.select().count() == 0


def test_sessions_the_hub_did_not_create_are_ignored(buyer) -> None:
    foreign = {"id": "cs_test_foreign", "object": "checkout.session", "mode": "payment",
               "payment_status": "paid", "status": "complete", "metadata": {},
               "amount_total": 100, "currency": "usd"}
    response = deliver(buyer.client, "checkout.session.completed", foreign)
    assert response.status_code == 200
    assert StripeEvent.get().outcome == "not_ours"
    assert Payment.select().count() == 0


def test_async_payment_credits_only_when_it_succeeds(buyer) -> None:
    started = buyer.checkout()
    session = buyer.fake.complete_session(started["session_id"], async_payment=True)
    assert deliver(buyer.client, "checkout.session.completed", session).status_code == 200
    assert buyer.balance()["balance"] == 0
    assert buyer.payments()[0]["status"] == "pending"

    settled = buyer.fake.settle_async(started["session_id"], succeeded=True)
    deliver(buyer.client, "checkout.session.async_payment_succeeded", settled)
    assert buyer.balance()["balance"] == 500_000
    assert buyer.payments()[0]["status"] == "paid"
    assert_ledger_consistent()


def test_async_payment_failure_and_expiry_mark_the_payment(buyer) -> None:
    failed = buyer.checkout()
    session = buyer.fake.complete_session(failed["session_id"], async_payment=True)
    deliver(buyer.client, "checkout.session.completed", session)
    deliver(buyer.client, "checkout.session.async_payment_failed",
            buyer.fake.settle_async(failed["session_id"], succeeded=False))

    abandoned = buyer.checkout("pro")
    deliver(buyer.client, "checkout.session.expired", buyer.fake.expire(abandoned["session_id"]))

    statuses = {p["package"]: p["status"] for p in buyer.payments()}
    assert statuses == {"starter": "failed", "pro": "expired"}
    assert buyer.balance()["balance"] == 0


def test_an_expiry_arriving_after_the_credit_changes_nothing(buyer) -> None:
    session = paid_session(buyer)
    deliver(buyer.client, "checkout.session.completed", session)
    late = dict(session, status="expired")  # out of order or forged-but-signed: ignored
    deliver(buyer.client, "checkout.session.expired", late)
    assert buyer.payments()[0]["status"] == "paid"
    assert buyer.balance()["balance"] == 500_000


def test_a_processing_error_is_5xx_and_nothing_is_recorded(buyer) -> None:
    """A session naming a user that does not exist fails inside the transaction."""
    broken = {"id": "cs_test_broken", "object": "checkout.session", "mode": "payment",
              "payment_status": "paid", "status": "complete", "amount_total": 500,
              "currency": "usd", "payment_intent": None,
              "metadata": {"hub_user_id": "987654321", "package": "starter",
                           "credits": "500000"}}
    response = deliver(buyer.client, "checkout.session.completed", broken)
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert StripeEvent.select().count() == 0  # so Stripe's retry is processed, not skipped
    assert Payment.select().count() == 0
    assert_ledger_consistent()


def test_stripe_unreachable_while_handling_a_refund_is_5xx_then_the_retry_works(
        buyer, app_factory) -> None:
    from tests.payments.conftest import dead_url

    session = paid_session(buyer)
    deliver(buyer.client, "checkout.session.completed", session)
    charge = buyer.fake.charge_of(session["id"])
    buyer.fake.refund(charge["id"])
    body, headers = signed_event(WEBHOOK_SECRET, "charge.refunded",
                                 buyer.fake.charge_of(session["id"]))

    offline = app_factory(STRIPE_API_BASE=dead_url()).test_client()
    response = offline.post("/api/payments/webhook", data=body, headers=headers)
    assert response.status_code == 502
    assert buyer.balance()["balance"] == 500_000
    assert StripeEvent.select().where(StripeEvent.type == "charge.refunded").count() == 0

    retried = buyer.client.post("/api/payments/webhook", data=body, headers=headers)
    assert retried.status_code == 200 and retried.json["duplicate"] is False
    assert buyer.balance()["balance"] == 0
    assert_ledger_consistent()


def test_a_refund_reverses_the_credits(buyer) -> None:
    session = paid_session(buyer, "pro")
    deliver(buyer.client, "checkout.session.completed", session)
    charge = buyer.fake.charge_of(session["id"])
    refund = buyer.fake.refund(charge["id"])

    response = deliver(buyer.client, "charge.refunded", buyer.fake.charge_of(session["id"]))

    assert response.status_code == 200
    assert buyer.balance()["balance"] == 0
    assert buyer.payments()[0]["status"] == "refunded"
    assert ledger_entries(buyer.user.id)[-1] == ("reversal", -2_100_000,
                                                 f"stripe:refund:{refund['id']}:reverse")
    assert PaymentFlag.select().count() == 0
    assert_ledger_consistent()


def test_a_refund_after_spending_never_makes_the_balance_negative(buyer) -> None:
    session = paid_session(buyer)
    deliver(buyer.client, "checkout.session.completed", session)
    buyer.spend(400_000)
    charge = buyer.fake.charge_of(session["id"])
    refund = buyer.fake.refund(charge["id"])

    deliver(buyer.client, "charge.refunded", buyer.fake.charge_of(session["id"]))
    deliver(buyer.client, "charge.refunded", buyer.fake.charge_of(session["id"]))  # again

    assert buyer.balance() == {"balance": 0, "held": 0, "available": 0}
    payment = Payment.get()
    assert (payment.status, payment.reversed_credits, payment.shortfall_credits) == \
        ("refunded", 500_000, 400_000)
    flag = PaymentFlag.get()
    assert (flag.user_id, flag.payment_id, flag.kind, flag.reference, flag.shortfall_credits) \
        == (buyer.user.id, payment.id, "refund_shortfall", refund["id"], 400_000)
    assert [e[:2] for e in ledger_entries(buyer.user.id)] == [
        ("purchase", 500_000), ("usage", -400_000), ("reversal", -100_000)]
    assert_ledger_consistent()


def test_partial_refunds_add_up_even_out_of_order(buyer) -> None:
    session = paid_session(buyer)  # 500 cents → 500,000 credits
    deliver(buyer.client, "checkout.session.completed", session)
    charge_id = buyer.fake.charge_of(session["id"])["id"]
    buyer.fake.refund(charge_id, 150)
    first_event = buyer.fake.charge_of(session["id"])

    deliver(buyer.client, "charge.refunded", first_event)
    assert buyer.balance()["balance"] == 350_000
    assert buyer.payments()[0]["status"] == "partially_refunded"

    buyer.fake.refund(charge_id, 200)
    buyer.fake.refund(charge_id, 150)
    deliver(buyer.client, "charge.refunded", buyer.fake.charge_of(session["id"]))
    deliver(buyer.client, "charge.refunded", first_event)  # a late, stale delivery

    assert buyer.balance()["balance"] == 0
    assert buyer.payments()[0]["status"] == "refunded"
    assert sorted(r.reversed_credits for r in PaymentReversal.select()) == \
        [150_000, 150_000, 200_000]
    assert_ledger_consistent()


def test_a_refund_overtaking_the_completion_webhook_credits_then_reverses(buyer) -> None:
    session = paid_session(buyer)
    charge = buyer.fake.charge_of(session["id"])
    buyer.fake.refund(charge["id"])

    deliver(buyer.client, "charge.refunded", buyer.fake.charge_of(session["id"]))
    assert buyer.balance()["balance"] == 0
    assert [e[0] for e in ledger_entries(buyer.user.id)] == ["purchase", "reversal"]

    deliver(buyer.client, "checkout.session.completed", session)  # arrives late
    assert buyer.balance()["balance"] == 0
    assert buyer.payments()[0]["status"] == "refunded"
    assert_ledger_consistent()


def test_a_dispute_flags_the_payment_and_the_account_and_reverses_once(buyer) -> None:
    session = paid_session(buyer, "pro")
    deliver(buyer.client, "checkout.session.completed", session)
    buyer.spend(2_000_000)
    charge = buyer.fake.charge_of(session["id"])
    dispute = buyer.fake.dispute(charge)

    assert deliver(buyer.client, "charge.dispute.created", dispute).status_code == 200
    assert deliver(buyer.client, "charge.dispute.created", dispute).status_code == 200

    assert buyer.balance()["balance"] == 0
    assert buyer.payments()[0]["status"] == "disputed"
    payment = Payment.get()
    assert payment.disputed_at is not None
    assert (payment.reversed_credits, payment.shortfall_credits) == (2_100_000, 2_000_000)
    kinds = sorted((f.kind, f.reference, f.user_id) for f in PaymentFlag.select())
    assert kinds == [("dispute", dispute["id"], buyer.user.id),
                     ("dispute_shortfall", dispute["id"], buyer.user.id)]
    assert ledger_entries(buyer.user.id)[-1] == ("reversal", -100_000,
                                                 f"stripe:dispute:{dispute['id']}:reverse")
    # a refund of the disputed charge cannot take back more than was bought
    buyer.fake.refund(charge["id"])
    deliver(buyer.client, "charge.refunded", buyer.fake.charge_of(session["id"]))
    assert Payment.get().reversed_credits == 2_100_000
    assert buyer.payments()[0]["status"] == "disputed"
    assert_ledger_consistent()


def test_charges_the_hub_does_not_know_are_ignored(buyer) -> None:
    charge = {"id": "ch_unknown", "object": "charge", "amount": 100, "currency": "usd",
              "payment_intent": None}
    assert deliver(buyer.client, "charge.refunded", charge).status_code == 200
    assert deliver(buyer.client, "charge.dispute.created",
                   buyer.fake.dispute(charge)).status_code == 200
    assert {e.outcome for e in StripeEvent.select()} == {"not_ours"}


def test_a_webhook_secret_alone_still_credits_payments(buyer, app_factory) -> None:
    """Only STRIPE_WEBHOOK_SECRET set (no API key): completions need no Stripe call."""
    session = paid_session(buyer)
    webhook_only = app_factory(STRIPE_SECRET_KEY="").test_client()
    response = deliver(webhook_only, "checkout.session.completed", session)
    assert response.status_code == 200
    assert buyer.balance()["balance"] == 500_000
    assert Payment.get().stripe_charge_id is None  # the receipt lookup needs the API key

"""Payment history: a user's own payments, newest first, in pages."""

from __future__ import annotations

from app.models.payments import Payment
from tests.factories import create_user
from tests.payments.conftest import deliver


def test_history_pages_newest_first_and_shows_only_your_payments(buyer) -> None:
    ids = [buyer.checkout(package) for package in ("starter", "pro", "business")]
    other = create_user()
    Payment.create(user=other, package_slug="pro", package_name="Pro", amount_cents=2_000,
                   currency="usd", amount_credits=2_100_000, stripe_session_id="cs_other")

    first = buyer.client.get("/api/payments?limit=2", headers=buyer.headers)
    assert first.status_code == 200
    assert [p["package"] for p in first.json["items"]] == ["business", "pro"]
    assert first.json["next_cursor"] is not None
    second = buyer.client.get(f"/api/payments?limit=2&cursor={first.json['next_cursor']}",
                              headers=buyer.headers)
    assert [p["package"] for p in second.json["items"]] == ["starter"]
    assert second.json["next_cursor"] is None
    assert len(ids) == 3


def test_a_paid_payment_shows_stripes_receipt_link(buyer) -> None:
    started = buyer.checkout()
    assert "receipt_url" not in buyer.payments()[0]  # nothing paid, no receipt
    session = buyer.fake.complete_session(started["session_id"])
    deliver(buyer.client, "checkout.session.completed", session)

    [payment] = buyer.payments()
    charge = buyer.fake.charge_of(started["session_id"])
    assert payment["receipt_url"] == charge["receipt_url"]
    assert set(payment) == {"id", "package", "status", "amount_cents", "currency", "credits",
                            "created_at", "receipt_url"}


def test_bad_paging_parameters_are_422_naming_the_field(buyer) -> None:
    for query, field in [("limit=0", "limit"), ("limit=101", "limit"), ("cursor=abc", "cursor")]:
        response = buyer.client.get(f"/api/payments?{query}", headers=buyer.headers)
        assert response.status_code == 422, query
        assert response.json["error"]["message"].startswith(f"{field}:")


def test_the_payments_api_is_in_the_openapi_document(pay_app) -> None:
    spec = pay_app.test_client().get("/api/openapi.json").json
    for path, method in [("/api/payments/packages", "get"), ("/api/payments/checkout", "post"),
                         ("/api/payments/webhook", "post"), ("/api/payments", "get")]:
        assert method in spec["paths"][path], path
    checkout = spec["paths"]["/api/payments/checkout"]["post"]
    assert "requestBody" in checkout

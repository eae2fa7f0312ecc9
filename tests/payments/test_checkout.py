"""Packages and checkout: what a buyer sees before paying, and every refusal changes nothing."""

from __future__ import annotations

import stripe

from app.models.payments import CreditPackage, Payment
from tests.factories import auth_headers, create_user
from tests.payments.conftest import API_KEY, SHOP, dead_url


def test_packages_are_listed_with_prices_and_credits(buyer) -> None:
    response = buyer.client.get("/api/payments/packages")
    assert response.status_code == 200
    assert response.json == {"items": [
        {"id": "starter", "name": "Starter", "credits": 500_000, "price_cents": 500,
         "currency": "usd"},
        {"id": "pro", "name": "Pro", "credits": 2_100_000, "price_cents": 2_000,
         "currency": "usd"},
        {"id": "business", "name": "Business", "credits": 11_000_000, "price_cents": 10_000,
         "currency": "usd"},
    ]}


def test_an_inactive_package_is_neither_listed_nor_sold(buyer) -> None:
    CreditPackage.update(active=False).where(CreditPackage.slug == "pro").execute()
    listed = [p["id"] for p in buyer.client.get("/api/payments/packages").json["items"]]
    assert listed == ["starter", "business"]

    response = buyer.client.post("/api/payments/checkout", headers=buyer.headers, json={
        "package": "pro", "success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no"})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "unknown_package"
    assert Payment.select().count() == 0
    assert buyer.fake.sessions == {}


def test_checkout_creates_a_stripe_session_and_a_pending_payment(buyer) -> None:
    started = buyer.checkout("pro")

    session = buyer.fake.session(started["session_id"])
    assert started["checkout_url"] == session["url"]
    assert session["mode"] == "payment"
    assert session["amount_total"] == 2_000 and session["currency"] == "usd"
    assert session["client_reference_id"] == str(buyer.user.id)
    assert session["metadata"] == {"hub_user_id": str(buyer.user.id), "package": "pro",
                                   "credits": "2100000"}
    assert session["success_url"] == f"{SHOP}/thanks?s={{CHECKOUT_SESSION_ID}}"
    assert any(key.startswith(f"hub-checkout-{buyer.user.id}-") for key in buyer.fake.idempotent)

    [payment] = buyer.payments()
    assert payment["package"] == "pro" and payment["status"] == "pending"
    assert payment["amount_cents"] == 2_000 and payment["credits"] == 2_100_000
    assert payment["currency"] == "usd" and "receipt_url" not in payment
    assert buyer.balance()["balance"] == 0


def test_unknown_package_is_422_and_nothing_is_created(buyer) -> None:
    response = buyer.client.post("/api/payments/checkout", headers=buyer.headers, json={
        "package": "platinum", "success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no"})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "unknown_package"
    assert "platinum" in response.json["error"]["message"]
    assert Payment.select().count() == 0
    assert buyer.fake.requests == []


def test_missing_field_is_422_naming_it(buyer) -> None:
    response = buyer.client.post("/api/payments/checkout", headers=buyer.headers,
                                 json={"package": "starter", "success_url": f"{SHOP}/ok"})
    assert response.status_code == 422
    assert response.json["error"]["message"].startswith("cancel_url:")


def test_redirects_must_stay_on_allowed_origins(buyer) -> None:
    for field, url in [("success_url", "https://evil.example.net/ok"),
                       ("cancel_url", "https://shop.example.com.evil.net/no"),
                       ("success_url", "javascript:alert(1)"),
                       ("cancel_url", "http://shop.example.com/no")]:  # wrong scheme
        body = {"package": "starter", "success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no",
                field: url}
        response = buyer.client.post("/api/payments/checkout", headers=buyer.headers, json=body)
        assert response.status_code == 422, (field, url)
        assert response.json["error"]["code"] == "redirect_not_allowed"
        assert response.json["error"]["message"].startswith(f"{field}:")
    assert Payment.select().count() == 0
    assert buyer.fake.requests == []


def test_the_hub_origin_is_allowed_by_default(app_factory) -> None:
    app = app_factory(HUB_ALLOWED_REDIRECT_ORIGINS="", HUB_PUBLIC_URL="https://hub.example.org")
    user = create_user()
    headers = auth_headers(user, app.extensions["hub"].settings.SECRET_KEY)
    ok = app.test_client().post("/api/payments/checkout", headers=headers, json={
        "package": "starter", "success_url": "https://hub.example.org/credits?paid=1",
        "cancel_url": "https://HUB.example.org:443/credits"})
    assert ok.status_code == 200, ok.json
    refused = app.test_client().post("/api/payments/checkout", headers=headers, json={
        "package": "starter", "success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no"})
    assert refused.status_code == 422


def test_unverified_users_cannot_buy(pay_app) -> None:
    user = create_user(verified=False)
    headers = auth_headers(user, pay_app.extensions["hub"].settings.SECRET_KEY)
    response = pay_app.test_client().post("/api/payments/checkout", headers=headers, json={
        "package": "starter", "success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "email_not_verified"
    assert Payment.select().count() == 0


def test_anonymous_checkout_and_history_are_401(pay_app) -> None:
    client = pay_app.test_client()
    assert client.post("/api/payments/checkout", json={}).status_code == 401
    assert client.get("/api/payments").status_code == 401


def test_without_a_stripe_key_checkout_says_payments_are_not_configured(app_factory) -> None:
    app = app_factory(stripe=False)  # no STRIPE_* at all
    user = create_user()
    headers = auth_headers(user, app.extensions["hub"].settings.SECRET_KEY)
    client = app.test_client()
    response = client.post("/api/payments/checkout", headers=headers, json={
        "package": "starter", "success_url": "http://127.0.0.1:5000/credits",
        "cancel_url": "http://127.0.0.1:5000/credits"})
    assert response.status_code == 503
    assert response.json["error"]["code"] == "payments_not_configured"
    assert "STRIPE_SECRET_KEY" in response.json["error"]["message"]
    webhook = client.post("/api/payments/webhook", data=b"{}",
                          headers={"Stripe-Signature": "t=1,v1=00"})
    assert webhook.status_code == 503
    assert webhook.json["error"]["code"] == "payments_not_configured"
    # everything else works
    assert client.get("/api/payments/packages").status_code == 200
    assert client.get("/api/payments", headers=headers).json == {"items": [],
                                                                   "next_cursor": None}
    assert Payment.select().count() == 0


def test_stripe_unreachable_is_502_and_nothing_is_recorded(app_factory) -> None:
    app = app_factory(STRIPE_API_BASE=dead_url())
    user = create_user()
    headers = auth_headers(user, app.extensions["hub"].settings.SECRET_KEY)
    response = app.test_client().post("/api/payments/checkout", headers=headers, json={
        "package": "starter", "success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no"})
    assert response.status_code == 502
    assert response.json["error"]["code"] == "payment_provider_error"
    assert Payment.select().count() == 0


def test_sync_products_creates_then_updates_products_and_prices(pay_app, fake_stripe) -> None:
    runner = pay_app.test_cli_runner()
    first = runner.invoke(args=["payments", "sync-products"])
    assert first.exit_code == 0, first.output
    assert "starter: product hub_pkg_starter, price price_test_" in first.output
    assert first.output.count("(new price)") == 3

    starter = CreditPackage.get(CreditPackage.slug == "starter")
    emulator = stripe.StripeClient(API_KEY, base_addresses={"api": fake_stripe.localstripe_url})
    product = emulator.v1.products.retrieve("hub_pkg_starter")
    assert product.name == "Starter credits" and product.metadata["hub_package"] == "starter"
    price = fake_stripe.prices[starter.stripe_price_id]
    assert (price["unit_amount"], price["currency"], price["product"]) == \
        (500, "usd", "hub_pkg_starter")

    again = runner.invoke(args=["payments", "sync-products"])
    assert again.output.count("(price unchanged)") == 3

    CreditPackage.update(price_cents=600, name="Starter+").where(
        CreditPackage.slug == "starter").execute()
    third = runner.invoke(args=["payments", "sync-products"])
    assert "starter: product hub_pkg_starter" in third.output and "(new price)" in third.output
    new_price_id = CreditPackage.get(CreditPackage.slug == "starter").stripe_price_id
    assert new_price_id != starter.stripe_price_id
    assert fake_stripe.prices[starter.stripe_price_id]["active"] is False
    assert fake_stripe.prices[new_price_id]["unit_amount"] == 600
    assert emulator.v1.products.retrieve("hub_pkg_starter").name == "Starter+ credits"


def test_checkout_uses_the_synced_price(buyer, pay_app) -> None:
    assert pay_app.test_cli_runner().invoke(args=["payments", "sync-products"]).exit_code == 0
    started = buyer.checkout("business")
    assert buyer.fake.session(started["session_id"])["amount_total"] == 10_000
    # edited but not synced yet: charged at the new price inline, never at the stale Price
    CreditPackage.update(price_cents=9_000).where(CreditPackage.slug == "business").execute()
    started = buyer.checkout("business")
    assert buyer.fake.session(started["session_id"])["amount_total"] == 9_000


def test_sync_products_without_a_key_is_a_clear_error(app_factory) -> None:
    app = app_factory(stripe=False)
    result = app.test_cli_runner().invoke(args=["payments", "sync-products"])
    assert result.exit_code == 1
    assert "payments are not configured" in result.output.lower()

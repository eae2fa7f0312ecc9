"""The /credits/payments page as a browser uses it: forms with CSRF tokens, a session cookie."""

from __future__ import annotations

import re

from app.models.payments import LowBalanceAlert, Payment
from tests.factories import create_user
from tests.payments.conftest import deliver


def browser(app, *, verified: bool = True):
    client = app.test_client()
    user = create_user(verified=verified, name="Ada")
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client, user


def csrf(client) -> str:
    page = client.get("/credits/payments")
    assert page.status_code == 200
    return re.search(rb'<meta name="csrf-token" content="([^"]+)"', page.data).group(1).decode()


def test_anonymous_visitors_are_sent_to_login(pay_app) -> None:
    response = pay_app.test_client().get("/credits/payments")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/credits/payments")


def test_buying_from_the_page_goes_to_stripe_and_comes_back(app_factory, fake_stripe) -> None:
    app = app_factory(HUB_ALLOWED_REDIRECT_ORIGINS="")  # the hub's own origin
    client, user = browser(app)
    page = client.get("/credits/payments")
    assert b"Buy Starter" in page.data and b"11,000,000" in page.data
    assert b"No payments yet." in page.data

    response = client.post("/credits/buy", data={"csrf_token": csrf(client), "package": "pro"})
    assert response.status_code == 303
    payment = Payment.get()
    assert response.headers["Location"] == fake_stripe.session(payment.stripe_session_id)["url"]
    session = fake_stripe.complete_session(payment.stripe_session_id)
    assert session["success_url"] == "http://127.0.0.1:5000/credits/payments?paid=1"
    deliver(client, "checkout.session.completed", session)

    back = client.get("/credits/payments?paid=1")
    assert b"Your credits appear here as soon as Stripe confirms" in back.data
    assert re.search(rb'id="available">2,100,000<', back.data)
    assert b">paid<" in back.data and b">Receipt</a>" in back.data


def test_refusals_are_shown_and_change_nothing(app_factory) -> None:
    unconfigured = app_factory(stripe=False)
    client, _ = browser(unconfigured)
    page = client.get("/credits/payments")
    assert b"Payments are not configured on this hub" in page.data
    refused = client.post("/credits/buy", data={"csrf_token": csrf(client), "package": "pro"},
                          follow_redirects=True)
    assert b"STRIPE_SECRET_KEY" in refused.data

    configured = app_factory(HUB_ALLOWED_REDIRECT_ORIGINS="")
    client, _ = browser(configured, verified=False)
    refused = client.post("/credits/buy", data={"csrf_token": csrf(client), "package": "pro"},
                          follow_redirects=True)
    assert b"Verify your e-mail address before buying credits." in refused.data
    client, _ = browser(configured)
    unknown = client.post("/credits/buy", data={"csrf_token": csrf(client),
                                                "package": "platinum"}, follow_redirects=True)
    assert b"no active credit package" in unknown.data
    assert client.post("/credits/buy", data={"package": "pro"}).status_code == 400  # no CSRF
    assert Payment.select().count() == 0


def test_the_low_balance_alert_is_set_from_the_page(pay_app) -> None:
    client, user = browser(pay_app)
    saved = client.post("/credits/low-balance", data={"csrf_token": csrf(client),
                                                      "threshold_credits": "250000"},
                        follow_redirects=True)
    assert b"Low-balance alert set at 250,000 credits." in saved.data
    assert b'value="250000"' in saved.data
    bad = client.post("/credits/low-balance", data={"csrf_token": csrf(client),
                                                    "threshold_credits": "-5"},
                      follow_redirects=True)
    assert b"Enter a whole number of credits" in bad.data
    assert LowBalanceAlert.get(LowBalanceAlert.user == user.id).threshold_credits == 250_000

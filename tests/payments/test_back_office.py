"""Payments in the Flask-Admin back office: support reads, admins edit packages and resolve
flags (with CSRF), and a package edit changes what the next buyer pays."""

from __future__ import annotations

import re

from app.models.payments import CreditPackage, PaymentFlag
from tests.factories import create_user
from tests.payments.conftest import deliver


def signed_in(app, role: str):
    client = app.test_client()
    user = create_user(role=role)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    token = re.search(rb'name="csrf-token" content="([^"]+)"', client.get("/forgot").data)
    return client, token.group(1).decode()


def package_form(token: str, **overrides: str) -> dict[str, str]:
    form = {"csrf_token": token, "slug": "starter", "name": "Starter", "amount_credits": "500000",
            "price_cents": "500", "currency": "usd", "active": "y", "sort_order": "0"}
    return form | overrides


def test_support_sees_payments_pages_but_cannot_edit(buyer, pay_app) -> None:
    buyer.checkout("pro")
    client, token = signed_in(pay_app, "support")
    for path in ("/admin/packages/", "/admin/payments/", "/admin/payment-flags/",
                 "/admin/reconciliation/"):
        assert client.get(path).status_code == 200, path
    assert b"pro" in client.get("/admin/payments/").data
    starter = CreditPackage.get(CreditPackage.slug == "starter")
    refused = client.post(f"/admin/packages/edit/?id={starter.id}",
                          data=package_form(token, price_cents="100"))
    assert refused.status_code == 302
    assert CreditPackage.get_by_id(starter.id).price_cents == 500
    user_client, _ = signed_in(pay_app, "user")
    assert user_client.get("/admin/packages/").status_code == 403


def test_an_admin_edits_a_package_and_the_next_checkout_uses_it(buyer, pay_app) -> None:
    client, token = signed_in(pay_app, "admin")
    starter = CreditPackage.get(CreditPackage.slug == "starter")
    saved = client.post(f"/admin/packages/edit/?id={starter.id}",
                        data=package_form(token, amount_credits="700000", price_cents="700"))
    assert saved.status_code == 302
    invalid = client.post(f"/admin/packages/edit/?id={starter.id}",
                          data=package_form(token, price_cents="10"))
    assert invalid.status_code == 200 and b"minimum is 50" in invalid.data
    no_csrf = client.post(f"/admin/packages/edit/?id={starter.id}",
                          data=package_form("", price_cents="900"))
    assert no_csrf.status_code == 400

    started = buyer.checkout("starter")
    session = buyer.fake.session(started["session_id"])
    assert (session["amount_total"], session["metadata"]["credits"]) == (700, "700000")


def test_an_admin_resolves_flags_in_bulk(buyer, pay_app) -> None:
    started = buyer.checkout()
    session = buyer.fake.complete_session(started["session_id"])
    deliver(buyer.client, "checkout.session.completed", session)
    deliver(buyer.client, "charge.dispute.created",
            buyer.fake.dispute(buyer.fake.charge_of(session["id"])))
    flag = PaymentFlag.get()

    support, support_token = signed_in(pay_app, "support")
    support.post("/admin/payment-flags/action/", data={
        "csrf_token": support_token, "action": "resolve", "rowid": str(flag.id)})
    assert PaymentFlag.get_by_id(flag.id).resolved_at is None

    admin, token = signed_in(pay_app, "admin")
    listing = admin.get("/admin/payment-flags/").data
    assert b"dispute" in listing
    done = admin.post("/admin/payment-flags/action/", data={
        "csrf_token": token, "action": "resolve", "rowid": str(flag.id)})
    assert done.status_code == 302
    assert PaymentFlag.get_by_id(flag.id).resolved_at is not None

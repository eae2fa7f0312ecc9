"""Back-office payments API: packages, flags and reconciliation reports."""

from __future__ import annotations

from app.services.reconcile import reconcile
from tests.factories import auth_headers, create_user
from tests.payments.conftest import deliver


def headers_for(app, role: str) -> dict[str, str]:
    return auth_headers(create_user(role=role), app.extensions["hub"].settings.SECRET_KEY)


def test_admins_edit_packages_and_buyers_see_the_change(buyer, pay_app) -> None:
    admin = headers_for(pay_app, "admin")
    listed = buyer.client.get("/api/admin/payments/packages", headers=admin).json["items"]
    assert listed[0] == {"id": "starter", "name": "Starter", "credits": 500_000,
                         "price_cents": 500, "currency": "usd", "active": True,
                         "stripe_product_id": None, "stripe_price_id": None,
                         "stripe_synced": False}

    started = buyer.checkout("starter")  # bought before the change keeps its credits
    changed = buyer.client.patch("/api/admin/payments/packages/starter", headers=admin,
                                 json={"credits": 600_000, "price_cents": 600})
    assert changed.status_code == 200
    assert (changed.json["credits"], changed.json["price_cents"]) == (600_000, 600)
    deliver(buyer.client, "checkout.session.completed",
            buyer.fake.complete_session(started["session_id"]))
    assert buyer.balance()["balance"] == 500_000

    again = buyer.checkout("starter")
    assert buyer.fake.session(again["session_id"])["amount_total"] == 600
    assert buyer.fake.session(again["session_id"])["metadata"]["credits"] == "600000"

    hidden = buyer.client.patch("/api/admin/payments/packages/pro", headers=admin,
                                json={"active": False})
    assert hidden.json["active"] is False
    public = [p["id"] for p in buyer.client.get("/api/payments/packages").json["items"]]
    assert public == ["starter", "business"]


def test_admins_add_packages(buyer, pay_app) -> None:
    admin = headers_for(pay_app, "admin")
    created = buyer.client.post("/api/admin/payments/packages", headers=admin, json={
        "id": "team", "name": "Team", "credits": 55_000_000, "price_cents": 50_000,
        "active": True})
    assert created.status_code == 201
    assert created.json["id"] == "team" and created.json["currency"] == "usd"
    assert buyer.checkout("team")["session_id"]
    duplicate = buyer.client.post("/api/admin/payments/packages", headers=admin, json={
        "id": "team", "name": "Team", "credits": 1, "price_cents": 50})
    assert duplicate.status_code == 409
    assert duplicate.json["error"]["code"] == "package_exists"


def test_package_edits_are_validated_and_refused_edits_change_nothing(buyer, pay_app) -> None:
    admin = headers_for(pay_app, "admin")
    for body, field in [({"price_cents": 10}, "price_cents"), ({"credits": 0}, "credits"),
                        ({"currency": "USD"}, "currency"), ({}, "name")]:
        response = buyer.client.patch("/api/admin/payments/packages/starter", headers=admin,
                                      json=body)
        assert response.status_code == 422, body
        assert response.json["error"]["message"].startswith(f"{field}:"), response.json
    bad_id = buyer.client.post("/api/admin/payments/packages", headers=admin, json={
        "id": "Bad Id", "name": "x", "credits": 1, "price_cents": 50})
    assert bad_id.status_code == 422 and bad_id.json["error"]["message"].startswith("id:")
    missing = buyer.client.patch("/api/admin/payments/packages/nope", headers=admin,
                                 json={"active": True})
    assert missing.status_code == 404
    starter = buyer.client.get("/api/payments/packages").json["items"][0]
    assert (starter["price_cents"], starter["credits"]) == (500, 500_000)


def test_support_reads_and_only_admins_write(buyer, pay_app) -> None:
    support = headers_for(pay_app, "support")
    for path in ("/api/admin/payments/packages", "/api/admin/payments/flags",
                 "/api/admin/payments/reconciliations"):
        assert buyer.client.get(path, headers=support).status_code == 200
        assert buyer.client.get(path, headers=buyer.headers).status_code == 403
        assert buyer.client.get(path).status_code == 401
    refused = buyer.client.patch("/api/admin/payments/packages/starter", headers=support,
                                 json={"active": False})
    assert refused.status_code == 403
    assert buyer.client.post("/api/admin/payments/flags/1/resolve",
                             headers=support).status_code == 403


def test_flags_list_disputes_until_resolved(buyer, pay_app) -> None:
    admin = headers_for(pay_app, "admin")
    started = buyer.checkout()
    session = buyer.fake.complete_session(started["session_id"])
    deliver(buyer.client, "checkout.session.completed", session)
    dispute = buyer.fake.dispute(buyer.fake.charge_of(session["id"]))
    deliver(buyer.client, "charge.dispute.created", dispute)

    [flag] = buyer.client.get("/api/admin/payments/flags", headers=admin).json["items"]
    assert (flag["kind"], flag["reference"], flag["user_id"]) == ("dispute", dispute["id"],
                                                                  buyer.user.id)
    assert "reason=fraudulent amount=500 usd" == flag["details"]
    resolved = buyer.client.post(f"/api/admin/payments/flags/{flag['id']}/resolve",
                                 headers=admin)
    assert resolved.status_code == 200 and resolved.json["resolved_at"] is not None
    assert buyer.client.get("/api/admin/payments/flags", headers=admin).json["items"] == []
    everything = buyer.client.get("/api/admin/payments/flags?include_resolved=true",
                                  headers=admin).json["items"]
    assert [f["id"] for f in everything] == [flag["id"]]
    assert buyer.client.post("/api/admin/payments/flags/999999/resolve",
                             headers=admin).status_code == 404


def test_reconciliation_reports_are_readable(buyer, pay_app) -> None:
    started = buyer.checkout()
    buyer.fake.complete_session(started["session_id"])
    with pay_app.app_context():
        reconcile(trigger="cli")
    [run] = buyer.client.get("/api/admin/payments/reconciliations",
                             headers=headers_for(pay_app, "support")).json["items"]
    assert (run["status"], run["trigger"], run["sessions_seen"], run["fixed"]) == \
        ("ok", "cli", 1, 1)
    assert run["mismatches"] == [{"session_id": started["session_id"],
                                  "problem": "paid but not credited: credited now"}]

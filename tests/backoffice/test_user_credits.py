"""Users in the back office show their credits; admins adjust them through the ledger."""

from __future__ import annotations

import json

from app.models.audit import AuditLogEntry
from app.models.ledger import LedgerEntry
from app.services import ledger
from tests.backoffice.conftest import assert_ledger_sound, hidden
from tests.factories import create_user


def _fund(user, credits: int) -> None:
    ledger.credit(user.id, credits, kind="purchase", idempotency_key=f"seed:{user.id}")


def test_staff_see_balance_held_and_available(support, services) -> None:
    user = create_user(email="rich@example.com")
    _fund(user, 1_500_000)
    ledger.place_hold(user.id, 250_000, idempotency_key="h", purpose="chat")

    listing = support.get("/admin/users/?search=rich@example.com")
    details = support.get(f"/admin/users/details/?id={user.id}")

    assert listing.status_code == 200
    assert b"1,500,000" in listing.data and b"1,250,000" in listing.data
    assert details.status_code == 200
    for label, value in ((b"Balance", b"1,500,000"), (b"Held", b"250,000"),
                         (b"Available", b"1,250,000")):
        assert label in details.data and value in details.data
    assert b"Adjust credits" not in details.data  # support has no such action


def test_admin_adjusts_credits_and_the_audit_log_names_actor_before_after(admin, services):
    user = create_user()
    _fund(user, 1_000)
    form = admin.get(f"/admin/users/adjust/?id={user.id}")
    assert form.status_code == 200 and b"Adjust credits of" in form.data
    key = hidden(form.data, "idempotency_key")

    response = admin.post(f"/admin/users/adjust/?id={user.id}",
                          {"amount_credits": "-400", "reason": "refund of a duplicate charge",
                           "idempotency_key": key})

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/users/details/?id={user.id}")
    assert ledger.get_balance(user.id).balance == 600
    entry = LedgerEntry.get(LedgerEntry.kind == "admin_adjustment")
    assert (entry.amount_credits, entry.memo, entry.actor_id) == \
        (-400, "refund of a duplicate charge", admin.user.id)
    audit = AuditLogEntry.get()
    assert (audit.actor_id, audit.actor_label, audit.action, audit.target_id) == \
        (admin.user.id, admin.user.email, "credits.adjust", str(user.id))
    assert json.loads(audit.before)["balance"] == 1_000
    assert json.loads(audit.after)["balance"] == 600
    assert b"balance 1,000 \xe2\x86\x92 600" in admin.get(response.headers["Location"]).data
    assert_ledger_sound()


def test_a_double_submitted_form_moves_credits_once(admin, services) -> None:
    user = create_user()
    key = hidden(admin.get(f"/admin/users/adjust/?id={user.id}").data, "idempotency_key")
    data = {"amount_credits": "5000", "reason": "goodwill", "idempotency_key": key}

    first = admin.post(f"/admin/users/adjust/?id={user.id}", data)
    second = admin.post(f"/admin/users/adjust/?id={user.id}", data)

    assert first.status_code == second.status_code == 302
    assert ledger.get_balance(user.id).balance == 5_000
    assert LedgerEntry.select().count() == 1 and AuditLogEntry.select().count() == 1
    assert b"already submitted" in admin.get(second.headers["Location"]).data
    # A fresh render is a new adjustment: the key differs.
    assert hidden(admin.get(f"/admin/users/adjust/?id={user.id}").data, "idempotency_key") != key
    assert_ledger_sound()


def test_refused_adjustments_change_nothing(admin, services) -> None:
    user = create_user()
    _fund(user, 100)
    url = f"/admin/users/adjust/?id={user.id}"
    base = {"reason": "x", "idempotency_key": "k" * 32}

    zero = admin.post(url, {**base, "amount_credits": "0"})
    no_reason = admin.post(url, {**base, "amount_credits": "5", "reason": ""})
    not_a_number = admin.post(url, {**base, "amount_credits": "5.5"})
    too_much = admin.post(url, {**base, "amount_credits": "-101"})
    no_csrf = admin.post(url, {**base, "amount_credits": "5"}, csrf=False)
    missing = admin.post("/admin/users/adjust/?id=987654", {**base, "amount_credits": "5"})

    assert zero.status_code == 422 and b"must not be zero" in zero.data
    assert no_reason.status_code == 422 and not_a_number.status_code == 422
    assert too_much.status_code == 402 and b"not enough credits: 100 available" in too_much.data
    assert no_csrf.status_code == 400
    assert missing.status_code == 404
    assert ledger.get_balance(user.id).balance == 100
    assert LedgerEntry.select().count() == 1 and not AuditLogEntry.select().exists()


def test_support_cannot_adjust(support, services) -> None:
    user = create_user()
    url = f"/admin/users/adjust/?id={user.id}"
    assert support.get(url).status_code == 403
    refused = support.post(url, {"amount_credits": "5", "reason": "x",
                                 "idempotency_key": "k" * 32})
    assert refused.status_code == 403
    assert ledger.get_balance(user.id).balance == 0 and not AuditLogEntry.select().exists()

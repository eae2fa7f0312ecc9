"""Ledger entries, holds and the audit log: staff read and filter; nobody edits or deletes."""

from __future__ import annotations

from app.models.audit import AuditLogEntry
from app.models.ledger import CreditHold, LedgerEntry
from app.services import ledger
from tests.factories import create_user


def _two_users():
    alice, bob = create_user(email="alice@example.com"), create_user(email="bob@example.com")
    ledger.credit(alice.id, 7_777, kind="purchase", idempotency_key="a1")
    ledger.credit(bob.id, 8_888, kind="promo", idempotency_key="b1")
    ledger.place_hold(alice.id, 1_234, idempotency_key="ha", purpose="chat_job")
    released = ledger.place_hold(bob.id, 4_321, idempotency_key="hb", purpose="chat_job")
    ledger.release_hold(released.hold_id)
    ledger.adjust_credits(bob.id, 55, reason="sorry for the outage", idempotency_key="adj",
                          actor_id=None, actor_label="cli:ops")
    return alice, bob


def test_ledger_entries_filter_by_email_kind_and_date(support, services) -> None:
    _two_users()
    everything = support.get("/admin/ledger/")
    by_email = support.get("/admin/ledger/?flt0_0=ALICE@")  # e-mail filter: case-insensitive
    by_kind = support.get("/admin/ledger/?flt0_1=promo")
    by_date = support.get("/admin/ledger/?flt0_2=2000-01-01+00:00:00+to+2000-01-02+00:00:00")

    assert everything.status_code == 200
    assert b"7,777" in everything.data or b"7777" in everything.data
    assert b"alice@example.com" in everything.data and b"bob@example.com" in everything.data
    assert b"alice@example.com" in by_email.data and b"bob@example.com" not in by_email.data
    assert b"8888" in by_kind.data and b"7777" not in by_kind.data
    assert b"alice@example.com" not in by_date.data
    entry = LedgerEntry.get(LedgerEntry.kind == "purchase")
    assert b"a1" in support.get(f"/admin/ledger/details/?id={entry.id}").data


def test_holds_filter_active_and_audit_log_lists_changes(support, services) -> None:
    _two_users()
    active = support.get("/admin/holds/?flt0_0=active")
    audit = support.get("/admin/audit/")

    assert active.status_code == 200
    assert b"1234" in active.data and b"4321" not in active.data
    assert audit.status_code == 200
    assert b"sorry for the outage" in audit.data and b"cli:ops" in audit.data


def test_nobody_edits_or_deletes_the_journal(admin, services) -> None:
    _two_users()
    entry = LedgerEntry.get(LedgerEntry.kind == "purchase")
    hold = CreditHold.get(CreditHold.status == "active")
    record = AuditLogEntry.get()
    before = [(e.id, e.amount_credits) for e in LedgerEntry.select().order_by(LedgerEntry.id)]

    for url in (f"/admin/ledger/edit/?id={entry.id}", f"/admin/holds/edit/?id={hold.id}",
                f"/admin/audit/edit/?id={record.id}"):
        assert admin.get(url).status_code == 302  # Flask-Admin sends back to the list
        admin.post(url, {"amount_credits": "1", "reason": "x"})
    for url, row_id in (("/admin/ledger/delete/", entry.id), ("/admin/holds/delete/", hold.id),
                        ("/admin/audit/delete/", record.id)):
        admin.post(url, {"id": str(row_id)})
    for url in ("/admin/ledger/new/", "/admin/audit/new/"):
        assert admin.get(url).status_code == 302

    after = [(e.id, e.amount_credits) for e in LedgerEntry.select().order_by(LedgerEntry.id)]
    assert after == before
    assert CreditHold.get_by_id(hold.id).amount_credits == 1_234
    assert AuditLogEntry.get_by_id(record.id).reason == "sorry for the outage"
    listing = admin.get("/admin/ledger/").data
    assert b"/admin/ledger/edit/" not in listing and b"/admin/ledger/delete/" not in listing

"""Promo codes: staff list them; admins create (through the promo service) and deactivate."""

from __future__ import annotations

import json

import pytest

from app.models.audit import AuditLogEntry
from app.models.promo import PromoCode
from app.services import promo
from tests.factories import create_user

FORM = {"code": "summer-50", "amount_credits": "50000", "max_redemptions": "10",
        "valid_from": "", "valid_until": "2099-09-01 00:00:00"}


def test_admin_creates_a_code_through_the_service(admin, services) -> None:
    created = admin.post("/admin/promo-codes/new/", FORM)
    duplicate = admin.post("/admin/promo-codes/new/", {**FORM, "code": "SUMMER-50"})
    invalid = admin.post("/admin/promo-codes/new/", {**FORM, "code": "no spaces!"})

    assert created.status_code == 302
    code = PromoCode.get()
    assert (code.code, code.amount_credits, code.max_redemptions, code.created_by_id) == \
        ("SUMMER-50", 50_000, 10, admin.user.id)
    assert duplicate.status_code == 200 and b"exists already" in duplicate.data
    assert invalid.status_code == 200 and b"letters, digits" in invalid.data
    assert PromoCode.select().count() == 1
    assert b"SUMMER-50" in admin.get("/admin/promo-codes/").data


def test_admin_deactivates_a_code_and_it_can_no_longer_be_redeemed(admin, services) -> None:
    code = promo.create_promo_code("WINTER", 100, max_redemptions=5,
                                   created_by=None, actor_label="test")

    response = admin.post("/admin/promo-codes/action/",
                          {"action": "deactivate", "rowid": str(code.id)})

    assert response.status_code == 302
    assert PromoCode.get_by_id(code.id).is_active is False
    audit = AuditLogEntry.get(AuditLogEntry.action == "promo.deactivate")
    assert (audit.actor_id, json.loads(audit.after)) == (admin.user.id, {"is_active": False})
    user = create_user()
    with pytest.raises(promo.PromoCodeExpired):
        promo.redeem_promo_code(user.id, "winter")
    again = admin.post("/admin/promo-codes/action/", {"action": "deactivate",
                                                      "rowid": str(code.id)})
    assert again.status_code == 302 and AuditLogEntry.select().where(
        AuditLogEntry.action == "promo.deactivate").count() == 1


def test_support_lists_but_cannot_create_or_deactivate(support, services) -> None:
    code = promo.create_promo_code("READONLY", 100, max_redemptions=5,
                                   created_by=None, actor_label="test")
    listing = support.get("/admin/promo-codes/")
    assert listing.status_code == 200 and b"READONLY" in listing.data
    assert b"Deactivate" not in listing.data

    create = support.post("/admin/promo-codes/new/", {**FORM, "code": "SNEAKY"})
    deactivate = support.post("/admin/promo-codes/action/",
                              {"action": "deactivate", "rowid": str(code.id)})

    assert create.status_code == 302 and not PromoCode.select().where(
        PromoCode.code == "SNEAKY").exists()
    assert deactivate.status_code == 403
    assert PromoCode.get_by_id(code.id).is_active is True
    assert [e.action for e in AuditLogEntry.select()] == ["promo.create"]  # READONLY's


def test_a_limit_larger_than_its_column_is_refused_by_the_service(admin, services) -> None:
    response = admin.post("/admin/promo-codes/new/", {**FORM, "max_redemptions": str(10**20)})

    assert response.status_code == 200 and b"max_redemptions: must be between 1 and" \
        in response.data
    assert PromoCode.select().count() == 0

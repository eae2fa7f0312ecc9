"""Every change an operator makes in the back office or the admin API goes through a domain
service and leaves exactly one audit entry (actor, target, before, after); a refused change and
a change that changes nothing leave none."""

from __future__ import annotations

import getpass
import json

import pytest
from flask_admin.contrib.peewee import ModelView

from app import create_app
from app.admin import ADMIN_VIEWS
from app.admin.base import StaffModelView
from app.models.audit import AuditLogEntry
from app.models.payments import CreditPackage, PaymentFlag
from app.models.pricing import ModelPrice
from app.models.users import User
from app.services.payments.packages import ensure_default_packages
from app.services.prices.history import price_history
from tests.conftest import make_settings
from tests.factories import auth_headers, create_payment_flag, create_user

PACKAGE_FORM = {"slug": "starter", "name": "Starter", "amount_credits": "500000",
                "price_cents": "500", "currency": "usd", "active": "y", "sort_order": "0"}


def entries(action: str) -> list[tuple]:
    """(actor id, actor label, target type, target id, before, after) of each entry."""
    return [(e.actor_id, e.actor_label, e.target_type, e.target_id, json.loads(e.before),
             json.loads(e.after))
            for e in AuditLogEntry.select().where(AuditLogEntry.action == action)
            .order_by(AuditLogEntry.id)]


@pytest.fixture
def packages(services) -> dict[str, CreditPackage]:
    ensure_default_packages()
    return {p.slug: p for p in CreditPackage.select()}


@pytest.fixture
def api(app, admin, settings):
    """The admin API, called with a bearer token of the same admin as `admin`."""
    client = app.test_client()
    headers = auth_headers(admin.user, settings.SECRET_KEY)

    class Api:
        def patch(self, url: str, body: dict):
            return client.patch(url, json=body, headers=headers)

        def post(self, url: str, body: dict | None = None):
            return client.post(url, json=body, headers=headers)

    return Api()


def test_a_user_edit_is_audited_once_with_the_fields_it_changed(admin, services) -> None:
    target = create_user(name="Target")
    form = {"name": "Renamed", "role": "support"}  # `is_active` unticked

    saved = admin.post(f"/admin/users/edit/?id={target.id}", form)
    again = admin.post(f"/admin/users/edit/?id={target.id}", form)

    assert saved.status_code == again.status_code == 302
    user = User.get_by_id(target.id)
    assert (user.name, user.role, user.is_active) == ("Renamed", "support", False)
    assert entries("user.update") == [
        (admin.user.id, admin.user.email, "user", str(target.id),
         {"name": "Target", "role": "user", "is_active": True},
         {"name": "Renamed", "role": "support", "is_active": False})]


def test_a_role_edit_records_only_the_role(admin, services) -> None:
    target = create_user(name="Target")

    admin.post(f"/admin/users/edit/?id={target.id}",
               {"name": "Target", "role": "admin", "is_active": "y"})

    assert [(b, a) for *_, b, a in entries("user.update")] == [({"role": "user"},
                                                                 {"role": "admin"})]


def test_a_package_edit_in_the_back_office_is_audited(admin, packages) -> None:
    starter = packages["starter"]

    saved = admin.post(f"/admin/packages/edit/?id={starter.id}",
                       {**PACKAGE_FORM, "slug": "renamed", "amount_credits": "700000",
                        "price_cents": "700"})

    assert saved.status_code == 302
    package = CreditPackage.get_by_id(starter.id)
    assert (package.slug, package.amount_credits, package.price_cents) == \
        ("starter", 700_000, 700)  # the id is fixed once created
    assert entries("package.update") == [
        (admin.user.id, admin.user.email, "credit_package", "starter",
         {"credits": 500_000, "price_cents": 500}, {"credits": 700_000, "price_cents": 700})]


def test_a_package_out_of_bounds_is_refused_by_name_and_changes_nothing(admin,
                                                                        packages) -> None:
    starter = packages["starter"]

    refused = admin.post(f"/admin/packages/edit/?id={starter.id}",
                         {**PACKAGE_FORM, "price_cents": str(10**12)})

    assert refused.status_code == 200 and b"price_cents: between 50 and" in refused.data
    assert CreditPackage.get_by_id(starter.id).price_cents == 500
    assert not AuditLogEntry.select().exists()


def test_a_package_created_in_the_back_office_is_audited(admin, packages) -> None:
    created = admin.post("/admin/packages/new/", {**PACKAGE_FORM, "slug": "team",
                                                  "name": "Team", "sort_order": "7"})

    assert created.status_code == 302
    assert CreditPackage.get(CreditPackage.slug == "team").sort_order == 7
    assert entries("package.create") == [
        (admin.user.id, admin.user.email, "credit_package", "team", {},
         {"id": "team", "name": "Team", "credits": 500_000, "price_cents": 500,
          "currency": "usd", "active": True, "sort_order": 7})]


def test_package_changes_through_the_api_are_audited(admin, api, packages) -> None:
    changed = api.patch("/api/admin/payments/packages/pro", {"active": False, "name": "Pro"})
    unchanged = api.patch("/api/admin/payments/packages/pro", {"active": False})
    created = api.post("/api/admin/payments/packages",
                       {"id": "team", "name": "Team", "credits": 9, "price_cents": 60})

    assert (changed.status_code, unchanged.status_code, created.status_code) == (200, 200, 201)
    assert entries("package.update") == [
        (admin.user.id, admin.user.email, "credit_package", "pro", {"active": True},
         {"active": False})]
    assert entries("package.create") == [
        (admin.user.id, admin.user.email, "credit_package", "team", {},
         {"id": "team", "name": "Team", "credits": 9, "price_cents": 60, "currency": "usd",
          "active": False, "sort_order": 3})]


def test_resolving_flags_is_audited_once_per_flag(admin, api, services) -> None:
    buyer = create_user()
    in_back_office, in_api = create_payment_flag(buyer), create_payment_flag(buyer)

    for _ in range(2):
        assert admin.post("/admin/payment-flags/action/",
                          {"action": "resolve", "rowid": str(in_back_office.id)}
                          ).status_code == 302
        assert api.post(f"/api/admin/payments/flags/{in_api.id}/resolve").status_code == 200

    resolved = {f.id: f.resolved_at.isoformat() for f in PaymentFlag.select()}
    assert entries("payment_flag.resolve") == [
        (admin.user.id, admin.user.email, "payment_flag", str(flag.id), {"resolved_at": None},
         {"resolved_at": resolved[flag.id]}) for flag in (in_back_office, in_api)]


def test_a_price_set_in_the_back_office_is_audited(admin, services) -> None:
    admin.get("/admin/prices/")  # seeds version 1
    first = price_history("local-echo")[-1]

    admin.post("/admin/prices/", {"model_id": "local-echo", "output_per_mtok_credits": "3000",
                                  "reason": "cost went up"})

    new = price_history("local-echo")[-1]
    [entry] = AuditLogEntry.select().where(AuditLogEntry.action == "price.set")
    assert (entry.actor_id, entry.target_type, entry.target_id, entry.reason) == \
        (admin.user.id, "model", "local-echo", "cost went up")
    assert json.loads(entry.before) == {
        "version": first.version, "price_id": first.id, "input_per_mtok_credits": 1_000,
        "output_per_mtok_credits": 2_000, "per_second_credits": 0,
        "cached_input_per_mtok_credits": None, "cache_write_per_mtok_credits": None,
        "per_second_audio_credits": None}
    assert json.loads(entry.after) == {
        "version": new.version, "price_id": new.id, "input_per_mtok_credits": 1_000,
        "output_per_mtok_credits": 3_000, "per_second_credits": 0,
        "cached_input_per_mtok_credits": None, "cache_write_per_mtok_credits": None,
        "per_second_audio_credits": None}


def test_a_promo_code_created_in_the_back_office_is_audited(admin, services) -> None:
    admin.post("/admin/promo-codes/new/", {"code": "spring", "amount_credits": "500",
                                           "max_redemptions": "3", "valid_from": "",
                                           "valid_until": "2099-01-02 03:04:05"})

    [(actor_id, label, kind, target, before, after)] = entries("promo.create")
    assert (actor_id, label, kind, before) == (admin.user.id, admin.user.email, "promo_code", {})
    assert after == {"code": "SPRING", "amount_credits": 500, "max_redemptions": 3,
                     "valid_from": None, "valid_until": "2099-01-02T03:04:05"}


def test_support_changes_nothing_and_nothing_is_audited(support, packages) -> None:
    target = create_user(name="Target")
    flag = create_payment_flag(target)
    starter = packages["starter"]

    support.post(f"/admin/users/edit/?id={target.id}", {"name": "X", "role": "admin"})
    support.post(f"/admin/packages/edit/?id={starter.id}", {**PACKAGE_FORM, "price_cents": "90"})
    support.post("/admin/packages/new/", {**PACKAGE_FORM, "slug": "sneaky"})
    resolve = support.post("/admin/payment-flags/action/",
                           {"action": "resolve", "rowid": str(flag.id)})
    price = support.post("/admin/prices/", {"model_id": "local-echo",
                                            "input_per_mtok_credits": "1", "reason": "x"})

    assert (resolve.status_code, price.status_code) == (403, 403)
    assert (User.get_by_id(target.id).role, User.get_by_id(target.id).name) == ("user", "Target")
    assert CreditPackage.get_by_id(starter.id).price_cents == 500
    assert not CreditPackage.select().where(CreditPackage.slug == "sneaky").exists()
    assert PaymentFlag.get_by_id(flag.id).resolved_at is None
    assert ModelPrice.select().where(ModelPrice.version > 1).count() == 0
    assert not AuditLogEntry.select().exists()


def test_every_back_office_write_goes_through_a_service() -> None:
    """A model view that lets admins create, edit or delete replaces Flask-Admin's direct
    table write with a service call; the base view's own refuse."""
    for make_view in ADMIN_VIEWS:
        view = make_view()
        if not isinstance(view, StaffModelView):
            continue
        for allowed, method in (("allow_create", "create_model"),
                                ("allow_edit", "update_model"),
                                ("allow_delete", "delete_model")):
            inherited = getattr(type(view), method)
            if getattr(view, allowed):
                assert inherited not in (getattr(StaffModelView, method),
                                         getattr(ModelView, method)), (type(view), method)


def test_operator_commands_are_audited_as_the_os_user(app) -> None:
    boss = create_user(email="boss@example.com")
    promoting = create_app(make_settings(HUB_ADMIN_EMAIL="boss@example.com",
                                         HUB_ADMIN_PASSWORD="the boss's long password"))
    runner = app.test_cli_runner()

    results = [promoting.test_cli_runner().invoke(args=["users", "ensure-admin"]),
               runner.invoke(args=["prices", "set", "local-echo", "--per-second", "0",
                                   "--reason", "tidy"]),
               runner.invoke(args=["credits", "promo-create", "cli-made", "5", "--limit", "1"])]

    assert [r.exit_code for r in results] == [0, 0, 0], [r.output for r in results]
    operator = f"cli:{getpass.getuser()}"
    assert [(e.action, e.actor_id, e.actor_label) for e in
            AuditLogEntry.select().order_by(AuditLogEntry.id)] == [
        ("user.update", None, operator), ("price.set", None, operator),
        ("promo.create", None, operator)]
    assert entries("user.update")[0][2:] == ("user", str(boss.id), {"role": "user"},
                                             {"role": "admin"})

"""Payments in the back office: packages (admins create and edit), payments, flags (admins
resolve) and reconciliation reports (read-only). Every change goes through
`app.services.payments.admin`, which audits it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash
from flask_admin.actions import action
from flask_admin.model import typefmt
from flask_login import current_user
from wtforms.validators import NumberRange, Regexp

from app.admin.base import StaffModelView
from app.errors import HubError
from app.services.payments import admin

DATES = {**typefmt.BASE_FORMATTERS,
         datetime: lambda view, value, name: value.strftime("%Y-%m-%d %H:%M")}


class CreditPackageAdmin(StaffModelView):
    """Prices and credits for sale. Past payments keep what they bought; run
    `flask payments sync-products` after a price change (checkout charges inline until then)."""

    allow_create = True
    column_list = ("slug", "name", "amount_credits", "price_cents", "currency", "active",
                   "sort_order", "stripe_product_id", "stripe_price_id", "updated_at")
    column_labels = {"slug": "Id", "amount_credits": "Credits", "price_cents": "Price (cents)",
                     "stripe_product_id": "Stripe product", "stripe_price_id": "Stripe price"}
    column_default_sort = "sort_order"
    column_type_formatters = DATES
    form_columns = ("slug", "name", "amount_credits", "price_cents", "currency", "active",
                    "sort_order")
    form_args = {
        "slug": {"validators": [Regexp(r"^[a-z0-9][a-z0-9_-]{0,39}$",
                                       message="lower-case letters, digits, - and _")]},
        "amount_credits": {"validators": [NumberRange(min=1)]},
        "price_cents": {"validators": [NumberRange(min=50, message="Stripe's minimum is 50")]},
        "currency": {"validators": [Regexp(r"^[a-z]{3}$", message="e.g. usd")]},
    }

    def edit_form(self, obj: Any = None) -> Any:
        """The id is the package's public name (checkout's `package`): fixed once created."""
        form = super().edit_form(obj)
        del form.slug
        return form

    def create_model(self, form: Any) -> Any:
        try:
            return admin.create_package(form.slug.data, _changes(form), **_actor())
        except HubError as exc:
            flash(exc.message, "error")
            return False

    def update_model(self, form: Any, model: Any) -> bool:
        try:
            admin.update_package(model.slug, _changes(form), **_actor())
        except HubError as exc:
            flash(exc.message, "error")
            return False
        return True


def _actor() -> dict[str, Any]:
    return {"actor_id": current_user.id, "actor_label": current_user.email}


def _changes(form: Any) -> dict[str, Any]:
    """The package form's fields, named as the service (and the admin API) name them."""
    return {"name": form.name.data, "credits": form.amount_credits.data,
            "price_cents": form.price_cents.data, "currency": form.currency.data,
            "active": bool(form.active.data), "sort_order": form.sort_order.data}


class PaymentAdmin(StaffModelView):
    allow_edit = False
    column_list = ("id", "user", "package_slug", "status", "amount_cents", "currency",
                   "amount_credits", "reversed_credits", "shortfall_credits", "created_at",
                   "credited_at", "disputed_at")
    column_labels = {"package_slug": "Package", "amount_cents": "Amount (cents)",
                     "amount_credits": "Credits"}
    column_filters = ("status", "package_slug")
    column_searchable_list = ("stripe_session_id", "stripe_payment_intent_id",
                              "stripe_charge_id")
    column_default_sort = ("id", True)
    column_type_formatters = DATES

    def search_placeholder(self) -> str:
        return "Stripe session, payment intent or charge id"


class PaymentFlagAdmin(StaffModelView):
    """Disputes, and refunds of credits the user had already spent."""

    allow_edit = False
    column_list = ("id", "user", "payment", "kind", "reference", "shortfall_credits", "details",
                   "created_at", "resolved_at")
    column_filters = ("kind",)
    column_default_sort = ("id", True)
    column_type_formatters = DATES

    @action("resolve", "Mark resolved", "Mark the selected flags as resolved?")
    def action_resolve(self, ids: list[str]) -> None:
        resolved = 0
        for flag_id in ids:
            try:
                resolved += admin.mark_flag_resolved(int(flag_id), **_actor())
            except (HubError, ValueError) as exc:
                flash(f"flag {flag_id}: {exc}", "error")
        flash(f"{resolved} flag(s) resolved.", "success")


class ReconciliationRunAdmin(StaffModelView):
    allow_edit = False
    column_list = ("id", "trigger", "status", "lookback_hours", "started_at", "finished_at",
                   "sessions_seen", "fixed", "expired", "mismatches", "error")
    column_default_sort = ("id", True)
    column_type_formatters = DATES

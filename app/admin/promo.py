"""Promo codes in the back office: list (support), create and deactivate (admin), never delete.

Creation goes through `promo.create_promo_code` (validation, normalised code, uniqueness) and
deactivation through `promo.deactivate_promo_code`; both are audited.
"""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_admin.actions import action
from flask_login import current_user

from app.admin.base import StaffModelView
from app.admin.columns import DATETIME_FORMATTERS, format_user
from app.errors import HubError
from app.services import promo


class PromoCodeAdmin(StaffModelView):
    allow_create = True
    allow_edit = False
    column_list = ("id", "code", "amount_credits", "redemptions", "max_redemptions",
                   "valid_from", "valid_until", "is_active", "created_by", "created_at")
    column_labels = {"amount_credits": "Amount (credits)", "is_active": "Active"}
    column_formatters = {"created_by": format_user}
    column_searchable_list = ("code",)
    column_filters = ("is_active",)
    column_default_sort = ("id", True)
    column_type_formatters = DATETIME_FORMATTERS
    form_columns = ("code", "amount_credits", "max_redemptions", "valid_from", "valid_until")
    form_args = {"valid_from": {"description": "UTC; empty: valid at once"},
                 "valid_until": {"description": "UTC; empty: never expires"}}

    def create_model(self, form: Any) -> Any:
        try:
            return promo.create_promo_code(form.code.data or "", form.amount_credits.data or 0,
                                           max_redemptions=form.max_redemptions.data or 0,
                                           valid_from=form.valid_from.data,
                                           valid_until=form.valid_until.data,
                                           created_by=current_user.id,
                                           actor_label=current_user.email)
        except HubError as exc:
            flash(exc.message, "error")
            return False

    @action("deactivate", "Deactivate", "Deactivate the selected codes? They can no longer be "
            "redeemed; this cannot be undone here.")
    def action_deactivate(self, ids: list[str]) -> None:
        changed = 0
        for promo_id in ids:
            try:
                changed += promo.deactivate_promo_code(int(promo_id), actor_id=current_user.id,
                                                       actor_label=current_user.email)
            except (HubError, ValueError) as exc:
                flash(f"promo code {promo_id}: {exc}", "error")
        flash(f"{changed} promo code(s) deactivated.", "success")

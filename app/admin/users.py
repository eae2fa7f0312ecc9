"""Users in the back office: search and read with credits (support), change name, role,
active (through `user_admin.update_user`, audited) and adjust credits (admin)."""

from __future__ import annotations

from typing import Any

import structlog
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.model.template import EndpointLinkRowAction
from flask_login import current_user

from app.admin.base import StaffModelView, require_writer
from app.admin.columns import DATETIME_FORMATTERS
from app.admin.forms import AdjustCreditsForm
from app.errors import HubError
from app.services.ledger import adjust_credits, get_balance
from app.services.user_admin import update_user

log = structlog.get_logger(__name__)

CREDIT_COLUMNS = ("balance", "held", "available")


def _credits(view: Any, context: Any, user: Any, name: str) -> str:
    return f"{getattr(get_balance(user.id), name):,}"


class UserAdmin(StaffModelView):
    column_list = ("id", "email", "name", "role", "is_active", *CREDIT_COLUMNS,
                   "email_verified_at", "totp_enabled_at", "created_at", "last_login_at")
    column_labels = {"email_verified_at": "Verified", "totp_enabled_at": "2FA since",
                     "is_active": "Active"}
    column_searchable_list = ("email", "name")
    column_filters = ("role", "is_active")
    column_default_sort = ("id", True)
    column_details_exclude_list = ("password_hash", "totp_secret", "totp_last_step",
                                   "auth_version")
    column_formatters = {name: _credits for name in CREDIT_COLUMNS}
    form_columns = ("name", "role", "is_active")
    column_type_formatters = DATETIME_FORMATTERS
    form_choices = {"role": [("user", "user"), ("support", "support"), ("admin", "admin")]}
    details_template = "admin/backoffice/user_details.html"

    def search_placeholder(self) -> str:
        return "E-mail or name"

    def update_model(self, form: Any, model: Any) -> bool:
        """Save the form through `update_user`, which audits what changed."""
        try:
            update_user(model.id, {"name": form.name.data or "", "role": form.role.data,
                                   "is_active": bool(form.is_active.data)},
                        actor_id=current_user.id, actor_label=current_user.email)
        except HubError as exc:
            flash(exc.message, "error")
            return False
        return True

    def get_details_columns(self) -> list[tuple[str, str]]:
        columns = super().get_details_columns()
        return columns + [(name, name.capitalize()) for name in CREDIT_COLUMNS]

    def get_list_row_actions(self) -> list[Any]:
        actions = super().get_list_row_actions()
        if self.writable:
            actions.append(EndpointLinkRowAction("fa fa-money", ".adjust_view",
                                                 title="Adjust credits"))
        return actions

    @expose("/adjust/", methods=("GET", "POST"))
    def adjust_view(self) -> Any:
        """Add or remove credits through the ledger's `adjust_credits` (audited)."""
        require_writer(self)
        user = self.get_one(request.args.get("id", ""))
        if user is None:
            abort(404)
        form = AdjustCreditsForm()
        status = 200
        if form.validate_on_submit():
            try:
                result = adjust_credits(user.id, form.amount_credits.data,
                                        reason=form.reason.data,
                                        idempotency_key=form.idempotency_key.data,
                                        actor_id=current_user.id, actor_label=current_user.email)
            except HubError as exc:
                flash(exc.message, "error")
                status = exc.http_status
            else:
                flash(_adjusted_message(result), "success")
                return redirect(url_for(".details_view", id=user.id))
        elif request.method == "POST":
            status = 422
        else:
            form.fresh_key()
        return self.render("admin/backoffice/adjust_credits.html", form=form, user=user,
                           balance=get_balance(user.id),
                           return_url=url_for(".details_view", id=user.id)), status


def _adjusted_message(result: Any) -> str:
    if result.movement.replayed:
        return "This form was already submitted: the adjustment was applied once, not again."
    return (f"Adjusted by {result.movement.amount_credits:,} credits: balance "
            f"{result.before.balance:,} → {result.after.balance:,}, available "
            f"{result.after.available:,}.")

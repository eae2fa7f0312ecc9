"""The one base for back-office views: access by role, read-only for support, CSRF on forms."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.peewee import ModelView
from flask_login import current_user
from flask_wtf import FlaskForm

from app.admin.home import home_context
from app.security.pages import page_denial
from app.services.kpis import DEFAULT_DAYS, PERIOD_DAYS

STAFF = "support"  # has_role: admin may do everything support may


class StaffAccess:
    """Mixin: Flask-Admin asks `is_accessible`; the refusal is `page_denial`'s."""

    def is_accessible(self) -> bool:
        return page_denial(STAFF) is None

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return page_denial(STAFF)

    @property
    def writable(self) -> bool:
        return current_user.is_authenticated and current_user.role == "admin"


def require_writer(view: StaffAccess) -> None:
    """Refuse (403) a change asked for by staff who may only read."""
    if not view.writable:
        abort(403)


class StaffView(StaffAccess, BaseView):
    """A custom back-office page; its POST handlers call `require_writer` first."""


class StaffIndexView(StaffAccess, AdminIndexView):
    """The home: the business over the last 1, 7 or 30 days (`?days=`), read-only for all."""

    @expose("/")
    def index(self) -> Any:
        days = request.args.get("days", type=int)
        days = days if days in PERIOD_DAYS else DEFAULT_DAYS
        return self.render("admin/backoffice/home.html", **home_context(self.admin, days))


class StaffModelView(StaffAccess, ModelView):
    """Support staff see lists and details; only admins create, edit or delete."""

    form_base_class = FlaskForm  # every form carries Flask-WTF's CSRF token
    can_view_details = True
    page_size = 50

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.writable and self.allow_create

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.writable and self.allow_edit

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.writable and self.allow_delete

    # What an admin may do on this view; support may never write.
    allow_create = False
    allow_edit = True
    allow_delete = False

    # Flask-Admin's own create/update/delete write the table directly, with no audit entry.
    # A view that allows a write overrides the matching method with a call to a domain
    # service, which audits the change; these refuse, so a view that forgets cannot write.
    def create_model(self, form: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: create through a domain service")

    def update_model(self, form: Any, model: Any) -> bool:
        raise NotImplementedError(f"{type(self).__name__}: update through a domain service")

    def delete_model(self, model: Any) -> bool:
        raise NotImplementedError(f"{type(self).__name__}: delete through a domain service")

    def action_delete(self, ids: list[str]) -> None:
        """Not an action here (no `@action`): Flask-Admin's bulk delete skips `delete_model`."""
        raise NotImplementedError(f"{type(self).__name__}: delete through a domain service")

    def is_action_allowed(self, name: str) -> bool:
        return self.writable and super().is_action_allowed(name)

    @expose("/action/", methods=("POST",))
    def action_view(self) -> Any:
        require_writer(self)
        return super().action_view()


class ReadOnlyModelView(StaffModelView):
    """Lists and details for every staff member; nobody creates, edits or deletes here."""

    allow_edit = False

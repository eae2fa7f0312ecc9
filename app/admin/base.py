"""The one base for back-office views: access by role, read-only for support, CSRF on forms."""

from __future__ import annotations

from typing import Any

from flask_admin import AdminIndexView, expose
from flask_admin.contrib.peewee import ModelView
from flask_login import current_user
from flask_wtf import FlaskForm

from app.security.pages import page_denial

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


class StaffIndexView(StaffAccess, AdminIndexView):
    @expose("/")
    def index(self) -> Any:
        return self.render("admin/index.html")


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

"""Users in the back office: search and read (support), change name, role, active (admin)."""

from __future__ import annotations

from datetime import datetime

from flask_admin.model import typefmt

from app.admin.base import StaffModelView


class UserAdmin(StaffModelView):
    column_list = ("id", "email", "name", "role", "is_active", "email_verified_at",
                   "totp_enabled_at", "created_at", "last_login_at")
    column_labels = {"email_verified_at": "Verified", "totp_enabled_at": "2FA since",
                     "is_active": "Active"}
    column_searchable_list = ("email", "name")
    column_filters = ("role", "is_active")
    column_default_sort = ("id", True)
    column_details_exclude_list = ("password_hash", "totp_secret", "totp_last_step",
                                   "auth_version")
    form_columns = ("name", "role", "is_active")
    column_type_formatters = {**typefmt.BASE_FORMATTERS,
                              datetime: lambda view, value, name: value.strftime("%Y-%m-%d %H:%M")}
    form_choices = {"role": [("user", "user"), ("support", "support"), ("admin", "admin")]}

    def search_placeholder(self) -> str:
        return "E-mail or name"

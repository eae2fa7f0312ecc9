"""Shared column helpers: show a row's user by e-mail and filter rows by e-mail.

Rows that point at a user (jobs, usage, ledger entries through the account, holds, audit)
show the e-mail instead of a lazily loaded model: `UserEmailColumn` fetches the e-mails of a
whole page in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask_admin.contrib.peewee.filters import BasePeeweeFilter
from flask_admin.model import typefmt
from markupsafe import Markup, escape

from app.models.users import User

DATETIME_FORMATTERS = {**typefmt.BASE_FORMATTERS,
                       datetime: lambda view, value, name: value.strftime("%Y-%m-%d %H:%M:%S")}


def emails_by_id(user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return dict(User.select(User.id, User.email).where(User.id.in_(ids)).tuples())


class UserEmailColumn:
    """Mixin for a model view: the column named `user_column` (a foreign key whose id is the
    user's) shows the user's e-mail, linked to the user's page in the back office."""

    user_column = "user"

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        count, rows = super().get_list(*args, **kwargs)  # type: ignore[misc]
        if isinstance(rows, list):
            emails = emails_by_id(self._user_id(row) for row in rows)
            for row in rows:
                row._user_email = emails.get(self._user_id(row))
        return count, rows

    def _user_id(self, row: Any) -> int | None:
        return getattr(row, f"{self.user_column}_id")


def format_user(view: Any, context: Any, row: Any, name: str) -> Any:
    """Column formatter for a foreign key to a user (or to the account keyed by the user's id):
    the e-mail, linked to the user's details. Uses the e-mails `UserEmailColumn` preloaded."""
    user_id = getattr(row, f"{name}_id")
    if user_id is None:
        return ""
    email = getattr(row, "_user_email", None) if name == getattr(view, "user_column", None) \
        else None
    email = email or emails_by_id([user_id]).get(user_id)
    return Markup('<a href="{}">{}</a>').format(f"/admin/users/details/?id={user_id}",
                                                escape(email or f"user {user_id}"))


class EmailFilter(BasePeeweeFilter):
    """Rows whose user's e-mail contains the given text (case-insensitive)."""

    def apply(self, query: Any, value: Any) -> Any:
        users = User.select(User.id).where(User.email.contains(str(value).strip().lower()))
        return query.where(self.column.in_(users))

    def operation(self) -> str:
        return "contains"

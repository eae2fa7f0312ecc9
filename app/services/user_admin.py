"""Operator changes to an account: its name, role and whether it may sign in.

The back office and the operator CLI change these only through `update_user`, which checks
the values, locks the user's row, writes the change and its audit entry (actor, target, the
changed fields before and after) in one transaction. A change that changes nothing is not
recorded. Disabling an account takes effect on its next request: sessions, access tokens and
API keys all re-read `is_active`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from app.errors import HubError, NotFound
from app.models.users import ROLES, User
from app.services import audit
from app.transactions import locked, write_transaction

log = structlog.get_logger(__name__)

ACTION = "user.update"
NAME_MAX_CHARS = 120  # the column's size


class UserNotFound(NotFound):
    """No such user."""

    code = "user_not_found"


class InvalidUserChange(HubError):
    """The change to this account is not valid."""

    http_status = 422
    code = "invalid_user_change"


def _checked(changes: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "name":
            if not isinstance(value, str) or len(value.strip()) > NAME_MAX_CHARS:
                raise InvalidUserChange(f"name: at most {NAME_MAX_CHARS} characters")
            values[name] = value.strip()
        elif name == "role":
            if value not in ROLES:
                raise InvalidUserChange(f"role: must be one of {', '.join(ROLES)}")
            values[name] = value
        elif name == "is_active":
            if not isinstance(value, bool):
                raise InvalidUserChange("is_active: must be true or false")
            values[name] = value
        else:
            raise InvalidUserChange(f"{name}: operators may change only name, role, is_active")
    return values


def update_user(user_id: int, changes: Mapping[str, Any], *, actor_id: int | None,
                actor_label: str) -> User:
    """Apply `changes` (any of name, role, is_active) and audit what actually changed."""
    values = _checked(changes)
    with write_transaction():
        user = locked(User.select().where(User.id == user_id)).get_or_none()
        if user is None:
            raise UserNotFound(f"no user with id {user_id}")
        before, after = audit.changed({name: getattr(user, name) for name in values}, values)
        if after:
            User.update(**after).where(User.id == user_id).execute()
            audit.record(actor_id=actor_id, actor_label=actor_label, action=ACTION,
                         target_type="user", target_id=user_id, before=before, after=after)
    if after:
        log.info("user_updated_by_operator", user_id=user_id, actor=actor_label,
                 fields=sorted(after))
    return User.get_by_id(user_id)

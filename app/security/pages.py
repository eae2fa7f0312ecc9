"""Access to server-rendered pages and the back office, with the same rule as the API
(`has_role`): anonymous visitors go to /login, signed-in users without the role get 403, and
staff without two-factor in production are sent to set it up first."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, redirect, request, url_for
from flask_login import current_user

from app.models.users import ROLES
from app.security.authenticate import has_role, two_factor_missing

F = TypeVar("F", bound=Callable[..., Any])

TWO_FACTOR_SETUP_ENDPOINT = "pages.account"


def page_denial(*roles: str) -> Any:
    """The response refusing this request, or None when the signed-in user may proceed."""
    if not current_user.is_authenticated:
        return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
    if two_factor_missing(current_user) and request.endpoint != TWO_FACTOR_SETUP_ENDPOINT:
        return redirect(url_for(TWO_FACTOR_SETUP_ENDPOINT, _anchor="two-factor"))
    if not has_role(current_user, *roles):
        abort(403)
    return None


def page_auth(*roles: str) -> Callable[[F], F]:
    """Guard a page: signed in, with one of `roles` if given."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            denial = page_denial(*roles)
            return denial if denial is not None else view(*args, **kwargs)

        wrapper._hub_auth = {"roles": roles, "page": True}  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator

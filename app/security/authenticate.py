"""Who is calling: the request's `Principal`, resolved once by the first registered
authenticator that recognises the credentials, and the guards views declare (`require_auth`,
`public`).

The authenticators themselves (bearer access tokens in `app.security.jwt_auth`, hub API keys in
`app.security.api_key_auth`, the web session in `app.security.sessions`) are registered on each
app, in order, by `app.security.setup.init_security`; this module knows none of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from app.models.users import ROLES, STAFF_ROLES, User
from app.security.errors import (
    ApiKeyNotAllowed,
    EmailNotVerified,
    Forbidden,
    TwoFactorSetupRequired,
    Unauthorized,
)
from app.security.identity import Authenticator, Principal
from app.services.runtime import current_settings

F = TypeVar("F", bound=Callable[..., Any])

EXTENSION_KEY = "hub_authenticators"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def register_authenticator(app: Flask, authenticator: Authenticator) -> None:
    """Add a way to authenticate to `app`; authenticators are tried in registration order."""
    app.extensions.setdefault(EXTENSION_KEY, []).append(authenticator)


def authenticate() -> Principal | None:
    """Resolve (once per request) who is calling; None when no credentials were sent."""
    if "principal" not in g:
        principal = None
        for authenticator in current_app.extensions.get(EXTENSION_KEY, ()):
            principal = authenticator()
            if principal is not None:
                break
        g.principal = principal  # not cached when an authenticator refused: it refuses again
    return g.principal


def current_principal() -> Principal:
    principal = authenticate()
    if principal is None:
        raise Unauthorized()
    return principal


def has_role(user: User, *roles: str) -> bool:
    """The one permission rule: admin may do everything support may; support is read-only."""
    if not roles:
        return True
    if user.role == "admin":
        return True
    return user.role in roles


def two_factor_missing(user: User) -> bool:
    """Staff must use two-factor sign-in in production, on the API, the pages and the admin."""
    return (current_settings().HUB_ENV == "production" and user.role in STAFF_ROLES
            and not user.has_two_factor)


def check_caller(user: User, *roles: str, verified: bool = False) -> None:
    """What a view's guard (`require_auth`) asks of the caller's account, in its order and with
    its refusals: two-factor sign-in where it is required, one of `roles` (if given), a
    verified email (if asked)."""
    if two_factor_missing(user):
        raise TwoFactorSetupRequired()
    if not has_role(user, *roles):
        raise Forbidden(f"this needs the {' or '.join(roles)} role")
    if verified and not user.is_verified:
        raise EmailNotVerified()


def require_auth(*roles: str, api_key: bool, verified: bool = False,
                 reuse_key: bool = False) -> Callable[[F], F]:
    """Guard a view: authenticated, with one of `roles` (if given), verified (if asked).

    `api_key` is the view's scope, declared on every guarded view: whether a hub API key may
    call it. Keys are credentials for model access (`/v1`, jobs, models, balance); anything
    that manages the account (keys, two-factor, password, sessions, profile, payments, the
    back office) says `api_key=False` and needs a session or an access token.

    `reuse_key`: an API key may be authenticated from this process's recent reads
    (`app.services.recent_reads`), for a view whose only effect is a job whose open re-checks
    the key. If the open finds it stale, the job API authenticates the caller again from the
    database, as such a view's guard does (`app.security.api_key_auth.reauthenticate_key`:
    hence such a view is for every verified caller, no role asked), and opens it once more
    (`app.jobs.opening`)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")
    if reuse_key and not api_key:
        raise ValueError("reuse_key needs api_key=True")
    if reuse_key and (roles or not verified):
        raise ValueError("reuse_key needs verified=True and no roles (what a stale key's "
                         "caller is checked against again: reauthenticate_key)")

    def check() -> None:
        principal = current_principal()
        if principal.via == "api_key" and not api_key:
            raise ApiKeyNotAllowed()
        check_caller(principal.user, *roles, verified=verified)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check()
            return view(*args, **kwargs)

        wrapper._hub_auth = {"roles": roles, "verified": verified,  # type: ignore[attr-defined]
                             "api_key": api_key, "reuse_key": reuse_key}
        return wrapper  # type: ignore[return-value]

    return decorator


def public(view: F) -> F:
    """Mark a view as deliberately open to anonymous callers (health checks, webhooks, login).

    Every `/api` and `/v1` view must carry either `require_auth` or `public`; a test walks the
    URL map to enforce it, so a new route cannot slip through unguarded by accident.
    """
    view._hub_auth = {"public": True}  # type: ignore[attr-defined]
    return view

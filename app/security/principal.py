"""The caller of a request, resolved once by the first authenticator that recognises it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import g, request

from app.models.hot_sql import select_one
from app.models.users import ROLES, STAFF_ROLES, User
from app.security.errors import (
    ApiKeyNotAllowed,
    EmailNotVerified,
    Forbidden,
    TwoFactorSetupRequired,
    Unauthorized,
)
from app.security.tokens import decode_access_token
from app.services.runtime import current_settings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Principal:
    user: User
    via: str  # "jwt", "api_key" or "session"
    token_id: str | None = None  # the access token's jti, or the API key's id
    api_key: Any = None  # the ApiKey row when authenticated by a hub API key
    extra: dict[str, Any] = field(default_factory=dict)


Authenticator = Callable[[], Principal | None]


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def principal_from_access_token(token: str) -> Principal:
    """The caller an access token names; Unauthorized if forged, expired or revoked."""
    from app.security.revocation import current_revocations, family_id

    claims = decode_access_token(token, key=current_settings().SECRET_KEY)
    revocation_ids = (claims.jti, family_id(claims.family)) if claims.family else (claims.jti,)
    if current_revocations().is_revoked(*revocation_ids):
        raise Unauthorized("the access token was revoked; sign in again")
    user = select_one(User, "id = {p}", (claims.user_id,))
    if user is None or not user.is_active:
        raise Unauthorized("this account is disabled or no longer exists")
    if claims.auth_version != user.auth_version:
        raise Unauthorized("the access token was revoked; sign in again")
    return Principal(user=user, via="jwt", token_id=claims.jti,
                     extra={"expires_at": claims.expires_at, "family": claims.family})


def principal_from_credential(token: str) -> Principal:
    """An access token or a hub API key sent outside HTTP headers (a WebSocket's first message)."""
    from app.security.api_key_auth import principal_from_api_key
    from app.services.api_keys import looks_like_key

    if looks_like_key(token):
        return principal_from_api_key(token)
    return principal_from_access_token(token)


def _jwt_authenticator() -> Principal | None:
    token = bearer_token()
    if token is None or token.count(".") != 2:
        return None
    return principal_from_access_token(token)


def _api_key_authenticator() -> Principal | None:
    from app.security.api_key_auth import authenticate_api_key

    return authenticate_api_key()


def _session_authenticator() -> Principal | None:
    from app.security.sessions import authenticate_session

    return authenticate_session()


AUTHENTICATORS: list[Authenticator] = [_jwt_authenticator, _api_key_authenticator,
                                       _session_authenticator]


def authenticate() -> Principal | None:
    """Resolve (once per request) who is calling; None when no credentials were sent."""
    if "principal" not in g:
        principal = None
        for authenticator in AUTHENTICATORS:
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
    database and opens it once more (`app.jobs.opening`)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")
    if reuse_key and not api_key:
        raise ValueError("reuse_key needs api_key=True")

    def check() -> None:
        principal = current_principal()
        if principal.via == "api_key" and not api_key:
            raise ApiKeyNotAllowed()
        if two_factor_missing(principal.user):
            raise TwoFactorSetupRequired()
        if not has_role(principal.user, *roles):
            raise Forbidden(f"this needs the {' or '.join(roles)} role")
        if verified and not principal.user.is_verified:
            raise EmailNotVerified()

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

"""Authenticates hub API keys: `Authorization: Bearer hub_…` on /api and /v1, and
`x-api-key: hub_…` on /v1/messages (Anthropic's convention)."""

from __future__ import annotations

from flask import current_app, request

from app.models.api_keys import ApiKey
from app.models.users import User
from app.security.authenticate import bearer_token, check_caller
from app.security.errors import Unauthorized
from app.security.identity import Principal
from app.services import api_keys

API_KEY_PATHS = ("/api/", "/v1/")


def _presented_key() -> str | None:
    if not request.path.startswith(API_KEY_PATHS):
        return None
    token = bearer_token()
    if token is None and request.path.startswith("/v1/messages"):
        token = request.headers.get("x-api-key", "").strip() or None
    if token is None or not api_keys.looks_like_key(token):
        return None
    return token


def authenticate_api_key() -> Principal | None:
    token = _presented_key()
    return None if token is None else principal_from_api_key(token, reuse=_view_reuses_key())


def _view_reuses_key() -> bool:
    """Whether this request's view takes a key read reused from this process's recent reads
    (`require_auth(reuse_key=True)`)."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return bool(getattr(view, "_hub_auth", {}).get("reuse_key"))


def principal_from_api_key(token: str, *, reuse: bool = False) -> Principal:
    """The caller a hub API key names; Unauthorized if unknown, revoked or expired."""
    key = checked_key(api_keys.find_key(token, reuse=reuse))
    return Principal(user=key.user, via="api_key", token_id=str(key.id), api_key=key)


def checked_key(key: ApiKey | None) -> ApiKey:
    """A key found for a request (None: unknown, revoked or its secret no longer valid, as
    `api_keys.find_key` and `reread_key` say), if it may authenticate the request, its use
    recorded: Unauthorized if there is no key, its owner (`key.user`) is disabled or it has
    expired."""
    if key is None:
        raise Unauthorized("the API key is not valid or was revoked")
    if not key.user.is_active:
        raise Unauthorized("this account is disabled")
    if api_keys.is_expired(key):
        raise Unauthorized("the API key has expired")
    api_keys.touch_last_used(key)
    return key


def reauthenticate_key(key: ApiKey) -> tuple[User, ApiKey]:
    """A key reused from this process's recent reads and found stale, read again from the
    database and checked as authenticating the request checks it (`checked_key`), then as the
    guard of a view that reuses keys does (`require_auth(reuse_key=True)`, which is
    `verified=True` with no roles), with the same refusals. The owner and the key as they
    are now."""
    fresh = checked_key(api_keys.reread_key(key))
    check_caller(fresh.user, verified=True)
    return fresh.user, fresh

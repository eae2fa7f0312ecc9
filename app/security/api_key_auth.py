"""Authenticates hub API keys: `Authorization: Bearer hub_…` on /api and /v1, and
`x-api-key: hub_…` on /v1/messages (Anthropic's convention)."""

from __future__ import annotations

from flask import current_app, request

from app.security.authenticate import bearer_token
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
    key = api_keys.find_key(token, reuse=reuse)
    if key is None:
        raise Unauthorized("the API key is not valid or was revoked")
    user = key.user
    if not user.is_active:
        raise Unauthorized("this account is disabled")
    if api_keys.is_expired(key):
        raise Unauthorized("the API key has expired")
    api_keys.touch_last_used(key)
    return Principal(user=user, via="api_key", token_id=str(key.id), api_key=key)

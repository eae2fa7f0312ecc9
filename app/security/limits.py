"""Rate limits: per client IP on sign-in, registration, forgot-password and e-mail codes, and
per account on the routes that check the current password (Flask-Limiter); per user or API key
across the whole API (`app.security.api_limit`, one Redis round trip per request). Redis storage under this hub's prefix, shared by every web process;
in-memory in embedded mode.

A view declares its bucket with `@rate_limited("login")`; `init_rate_limits` (run once the
blueprints are registered) gives each app its own Limiter bound to its own storage. Buckets are
shared across views: the API login and the sign-in page draw from the same "login" bucket.
Refusals are 429 with `Retry-After` and the JSON error shape (HTML on pages).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, request
from flask_limiter import Limiter

from app.config import Settings
from app.errors import HubError
from app.security.api_limit import build_api_limit, init_api_limit
from app.security.authenticate import authenticate

F = TypeVar("F", bound=Callable[..., Any])

BUCKET_SETTINGS = {
    "login": "HUB_RATE_LIMIT_LOGIN",
    "register": "HUB_RATE_LIMIT_REGISTER",
    "password_forgot": "HUB_RATE_LIMIT_PASSWORD_FORGOT",  # nosec B105  # a setting's name
    "otp": "HUB_RATE_LIMIT_OTP",
    "password_check": "HUB_RATE_LIMIT_PASSWORD_CHECK",  # nosec B105  # a setting's name
}
EXTENSION_KEY = "hub_limiter"


def rate_limited(bucket: str) -> Callable[[F], F]:
    """Count POSTs to this view against `bucket` (see BUCKET_SETTINGS): per client IP, or per
    account for the buckets in PER_ACCOUNT_BUCKETS."""
    if bucket not in BUCKET_SETTINGS:
        raise ValueError(f"unknown rate-limit bucket {bucket!r}")

    def decorator(view: F) -> F:
        view._hub_rate_limit = bucket  # type: ignore[attr-defined]
        return view

    return decorator


def client_ip() -> str:
    return request.remote_addr or "unknown"


def api_caller() -> str:
    """The API limit's key: the API key, else the user, else the client IP."""
    try:
        principal = authenticate()
    except HubError:  # a bad credential is refused by the view itself; count it by IP
        principal = None
    if principal is None:
        return f"ip:{client_ip()}"
    if principal.api_key is not None:
        return f"key:{principal.api_key.id}"
    return f"user:{principal.user.id}"


def account_caller() -> str:
    """The per-account buckets' key: the signed-in user (access token, API key's owner, or page
    session), else the client IP (the view then refuses the caller anyway)."""
    from flask_login import current_user

    try:
        principal = authenticate()
    except HubError:
        principal = None
    if principal is not None:
        return f"user:{principal.user.id}"
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{client_ip()}"


# Guessing a password from a stolen session or token: counted per account, from any IP.
PER_ACCOUNT_BUCKETS = {"password_check": account_caller}


def storage_uri(settings: Settings) -> str:
    return settings.REDIS_URL or "memory://"


def init_rate_limits(app: Flask, settings: Settings) -> Limiter:
    app.config.update(RATELIMIT_HEADERS_ENABLED=True, RATELIMIT_STORAGE_URI=storage_uri(settings))
    if settings.REDIS_URL:  # keys read "<HUB_REDIS_PREFIX>limits:LIMITER/<caller>/<bucket>/…"
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"key_prefix": f"{settings.HUB_REDIS_PREFIX}limits"}
    limiter = Limiter(
        key_func=client_ip,
        strategy="fixed-window",
        # Redis unreachable: keep limiting, per process, until it is back.
        in_memory_fallback_enabled=True,
    )
    limiter.init_app(app)

    @limiter.request_filter
    def _no_ip_buckets_on_v1() -> bool:
        """The per-IP buckets guard sign-in views only: `/v1` (the gateway's hot path) skips
        Flask-Limiter's per-request lookup (a measurable share of a streamed request's CPU:
        docs/benchmarks/2026-12-02-gateway-earlier-rounds.md)."""
        return request.path.startswith("/v1/")

    for endpoint, view in list(app.view_functions.items()):
        bucket = getattr(view, "_hub_rate_limit", None)
        if bucket is not None:  # the wrapper checks the bucket when the view is called
            app.view_functions[endpoint] = limiter.shared_limit(
                getattr(settings, BUCKET_SETTINGS[bucket]), scope=bucket,
                key_func=PER_ACCOUNT_BUCKETS.get(bucket, client_ip), methods=["POST"])(view)
    app.extensions[EXTENSION_KEY] = limiter
    # One budget per caller across every API route (keyed by API key or user, not IP).
    with app.app_context():
        from app.services.runtime import current_redis

        client = current_redis()
    init_api_limit(app, build_api_limit(settings.HUB_RATE_LIMIT_API, client,
                                        settings.HUB_REDIS_PREFIX), api_caller)
    return limiter

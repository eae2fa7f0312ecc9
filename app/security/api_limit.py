"""The per-caller API rate limit (HUB_RATE_LIMIT_API) on every `/api` and `/v1` request.

Counted in fixed windows aligned to the clock (a minute limit resets on the minute), one
counter per caller and limit in the `limits` library's storage: Redis under the hub's prefix,
shared by every web process (in memory when embedded, or while Redis is unreachable). Aligned
windows let one increment answer everything, the headers included: each request costs one
Redis round trip. Flask-Limiter's application limit took three (the count, then the window's
expiry and value again for the headers) on the gateway's hot path; it keeps the per-IP buckets
of the sign-in and registration views (`app.security.limits`).

Every response to a limited request carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (epoch seconds); a refusal is 429 with `Retry-After`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
import structlog
from flask import Flask, Response, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage, Storage

from app.errors import HubError

log = structlog.get_logger(__name__)

API_PREFIXES = ("/api/", "/v1/")


class ApiRateLimited(HubError):
    """Too many requests for this caller; try again after `Retry-After` seconds."""

    http_status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after_s)}


@dataclass(frozen=True)
class Window:
    """Where a caller stands in its tightest limit."""

    limit: int
    remaining: int
    reset_at: int  # epoch seconds

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset_at)}


class ApiRateLimit:
    def __init__(self, limits: list[RateLimitItem], storage: Storage) -> None:
        self.limits = limits
        self.storage = storage
        self._fallback: MemoryStorage | None = None

    def hit(self, caller: str, now: float | None = None) -> tuple[bool, Window]:
        """Count one request for `caller`: whether every limit still allows it, and the window
        of the tightest one."""
        now = time.time() if now is None else now
        allowed, windows = True, []
        for item in self.limits:
            period = item.get_expiry()
            window_end = (math.floor(now / period) + 1) * period
            key = f"api/{caller}/{item.amount}/{item.multiples}/{item.GRANULARITY.name}/" \
                  f"{window_end}"
            count = self._incr(key, max(1, math.ceil(window_end - now)))
            window = Window(limit=item.amount, remaining=max(item.amount - count, 0),
                            reset_at=int(window_end))
            allowed = allowed and count <= item.amount
            windows.append(window)
        tightest = min(windows, key=lambda w: (w.remaining, -w.reset_at))
        return allowed, tightest

    def _incr(self, key: str, expiry_s: int) -> int:
        try:
            return self.storage.incr(key, expiry_s)
        except redis.RedisError as exc:  # keep limiting, per process, until Redis is back
            if self._fallback is None:
                log.warning("rate_limit_storage_unreachable", error=str(exc))
                self._fallback = MemoryStorage()
            return self._fallback.incr(key, expiry_s)


def build_api_limit(limit_spec: str, client: redis.Redis | None, prefix: str) -> ApiRateLimit:
    storage: Storage = MemoryStorage() if client is None else RedisStorage(
        "redis://", connection_pool=client.connection_pool, key_prefix=f"{prefix}limits")
    return ApiRateLimit(list(parse_many(limit_spec)), storage)


def init_api_limit(app: Flask, limiter: ApiRateLimit, caller: Callable[[], str]) -> None:
    """Count every `/api` and `/v1` request against the bucket `caller()` names (the API key,
    the user or the client IP: `app.security.limits.api_caller`)."""

    @app.before_request
    def _count_api_request() -> None:
        if not request.path.startswith(API_PREFIXES):
            return
        allowed, window = limiter.hit(caller())
        g.api_rate_window = window
        if not allowed:
            retry_after_s = max(1, math.ceil(window.reset_at - time.time()))
            raise ApiRateLimited(f"rate limit exceeded: {window.limit} requests per window; "
                                 f"try again in {retry_after_s} s", retry_after_s=retry_after_s)

    @app.after_request
    def _rate_headers(response: Response) -> Response:
        window = g.get("api_rate_window")
        if window is not None:
            response.headers.update(window.headers())
        return response

"""Mapping the official SDKs' errors (openai, anthropic: same shapes) to the hub's error kinds.

Retryable: 408, 409, 429, 5xx (Anthropic's 529 "overloaded" included), timeouts, connection
failures and resets, a stream cut mid-way or malformed. Not retryable: 400/404/413/422 (the
request), 401/403 and quota exhaustion (the channel's account).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx2

from app.providers.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)

RETRY_AFTER_MAX_S = 3600.0


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` in seconds or as an HTTP date."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return min(max(float(value) / 1000, 0.0), RETRY_AFTER_MAX_S)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_MAX_S)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(parsed.timestamp() - time.time(), 0.0), RETRY_AFTER_MAX_S)


def _error_kinds(body: Any) -> set[str]:
    """The vendor's error type and code, wherever the SDK left the error object."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            return {str(inner.get("type") or ""), str(inner.get("code") or "")}
    return set()


def from_status(status: int, message: str, *, headers: Mapping[str, str] | None = None,
                body: Any = None, provider: str) -> ProviderError:
    """The hub's error for an upstream HTTP status."""
    text = f"{provider}: {message}"
    if status == 429 and "insufficient_quota" in _error_kinds(body):
        return ProviderAuthError(text, upstream_status=status)
    if status == 429:
        return ProviderRateLimited(text, retry_after_s=retry_after_s(headers),
                                   upstream_status=status)
    if status in (401, 403):
        return ProviderAuthError(text, upstream_status=status)
    if status == 404:
        # The channel does not serve the model: another channel or fallback may.
        return ProviderUnavailable(text, retryable=False, upstream_status=status)
    if status in (408, 409) or status >= 500:
        return ProviderUnavailable(text, retry_after_s=retry_after_s(headers),
                                   upstream_status=status)
    if status >= 400:
        return ProviderBadRequest(text, upstream_status=status)
    # An error event inside a 200 stream (e.g. Anthropic's overloaded_error mid-stream).
    return ProviderUnavailable(text, upstream_status=status)


def map_sdk_error(exc: BaseException, sdk: Any, provider: str) -> ProviderError | None:
    """The hub's error for an exception raised by `sdk` (the openai or anthropic module)."""
    if isinstance(exc, sdk.APIStatusError):
        return from_status(exc.status_code, exc.message, headers=exc.response.headers,
                           body=exc.body, provider=provider)
    if isinstance(exc, sdk.APITimeoutError | httpx2.TimeoutException):
        return ProviderTimeout(f"{provider}: the request timed out")
    if isinstance(exc, sdk.APIConnectionError | httpx2.TransportError):
        return ProviderUnavailable(f"{provider}: connection failed ({_cause(exc)})")
    if isinstance(exc, sdk.APIError):  # an error object inside a stream
        return ProviderUnavailable(f"{provider}: {exc.message}")
    if isinstance(exc, json.JSONDecodeError):
        return ProviderUnavailable(f"{provider}: malformed event in the response stream")
    return None


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__ or exc
    return f"{type(cause).__name__}: {cause}"[:200]

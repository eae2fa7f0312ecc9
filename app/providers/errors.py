"""Provider errors, named for the condition. Adapters map vendor errors to these; the router
decides from `retryable` and `retry_after_s` whether to retry, fall back or give up."""

from __future__ import annotations

from typing import Any

from app.errors import HubError


class ProviderError(HubError):
    """The AI provider could not serve the request."""

    http_status = 502
    code = "provider_error"
    retryable = False

    def __init__(self, message: str | None = None, *, retryable: bool | None = None,
                 retry_after_s: float | None = None, upstream_status: int | None = None,
                 details: Any = None) -> None:
        super().__init__(message, details=details)
        if retryable is not None:
            self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.upstream_status = upstream_status
        if retry_after_s is not None:
            self.headers = {"Retry-After": str(max(1, round(retry_after_s)))}


class ProviderRateLimited(ProviderError):
    """The AI provider is rate limiting the hub; try again later."""

    http_status = 503
    code = "provider_rate_limited"
    retryable = True


class ProviderUnavailable(ProviderError):
    """The AI provider failed or could not be reached."""

    http_status = 502
    code = "provider_unavailable"
    retryable = True


class ProviderTimeout(ProviderError):
    """The AI provider did not answer in time."""

    http_status = 504
    code = "provider_timeout"
    retryable = True


class ProviderBadRequest(ProviderError):
    """The AI provider refused the request as invalid."""

    http_status = 400
    code = "provider_bad_request"


class InvalidModelRequest(ProviderBadRequest):
    """The request does not fit the model (max_tokens, video length or size)."""

    http_status = 422
    code = "validation_error"


class ContextWindowExceeded(ProviderBadRequest):
    """The prompt plus max_tokens do not fit in the model's context window."""

    http_status = 400
    code = "context_length_exceeded"


class ProviderAuthError(ProviderError):
    """The hub's credentials for this AI provider were refused."""

    http_status = 502
    code = "provider_auth_error"


class ProviderStreamInterrupted(ProviderError):
    """The AI provider's stream broke after text was delivered; it cannot be retried."""

    http_status = 502
    code = "provider_stream_interrupted"


class ModelNotFound(ProviderError):
    """No such model, or no enabled provider serves it."""

    http_status = 404
    code = "model_not_found"


class NoProviderAvailable(ProviderError):
    """Every provider for this model is failing or cooling down; try again later."""

    http_status = 503
    code = "no_provider_available"

"""The hub's error hierarchy root and the single place where errors become HTTP responses.

Each area defines its errors as subclasses of `HubError`, named for the condition, with the
HTTP status and a stable machine code. Route handlers raise; they never build error bodies.
Three shapes are served: the hub's own `{"error": {"code", "message"}}`, OpenAI's on `/v1/...`,
and Anthropic's on `/v1/messages`.
"""

from __future__ import annotations

from typing import Any

import peewee
import psycopg2
import redis
import structlog
from apiflask import APIFlask, HTTPError
from flask import Response, jsonify, request
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.error_tracking import report_unhandled

log = structlog.get_logger(__name__)


class HubError(Exception):
    """Base of every error the API reports on purpose."""

    http_status = 400
    code = "bad_request"
    headers: dict[str, str] = {}

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        super().__init__(message or self.__doc__ or self.code)
        self.message = message or (self.__doc__ or self.code).strip()
        self.details = details


class NotFound(HubError):
    """No such resource."""

    http_status = 404
    code = "not_found"


class Conflict(HubError):
    """The request conflicts with the current state."""

    http_status = 409
    code = "conflict"


class ServiceUnavailable(HubError):
    """A required service is not configured or not reachable."""

    http_status = 503
    code = "service_unavailable"


# A dependency that cannot be reached (stopped, restarting, network gone): the request is
# answered 503 naming it, like /readyz, rather than as a bug of the hub (500). peewee wraps a
# psycopg2 error in its own class (the original first in its args) only when it knows the class
# or its parent, so deeper ones (SerializationFailure, …) arrive unwrapped.
DATABASE_ERRORS = (peewee.OperationalError, peewee.InterfaceError, psycopg2.OperationalError,
                   psycopg2.InterfaceError)
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
# SQLSTATE of a lost or refused connection: class 08, and the server shutting down or starting
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def database_unreachable(error: Exception) -> bool:
    """Whether a database error says the server cannot be reached (not a query's own failure,
    such as a deadlock or a cancelled statement, which stay 500s)."""
    original = error.args[0] if isinstance(error, peewee.PeeweeException) and error.args \
        and isinstance(error.args[0], Exception) else error
    code = getattr(original, "pgcode", None)
    return code is None or code.startswith(_UNREACHABLE_SQLSTATES)


class DatabaseBusy(ServiceUnavailable):
    """Every pooled database connection of this process stayed in use for the pool's timeout."""

    headers = {"Retry-After": "1"}

    def __init__(self) -> None:
        super().__init__("the hub is busy right now (every database connection is in use); "
                         "try again shortly")


class DependencyUnavailable(ServiceUnavailable):
    """A service the hub depends on is unreachable."""

    def __init__(self, dependency: str) -> None:
        super().__init__(f"the hub cannot reach its {dependency} right now; try again shortly")


STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 402: "insufficient_credits", 403: "forbidden",
    404: "not_found", 405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited",
    500: "internal_error", 502: "bad_gateway", 503: "service_unavailable",
}

OPENAI_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "insufficient_quota",
    403: "permission_error", 404: "not_found_error", 422: "invalid_request_error",
    429: "rate_limit_error", 500: "server_error", 503: "server_error",
}
ANTHROPIC_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
    422: "invalid_request_error", 429: "rate_limit_error", 500: "api_error",
    503: "overloaded_error",
}


def error_body(status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The body for this request's API family (hub, OpenAI-compatible or Anthropic-compatible)."""
    path = request.path if request else ""
    if path.startswith("/v1/messages"):
        return {"type": "error",
                "error": {"type": ANTHROPIC_TYPES.get(status, "api_error"), "message": message}}
    if path.startswith("/v1/"):
        kind = "insufficient_quota" if code == "insufficient_credits" else \
            OPENAI_TYPES.get(status, "invalid_request_error")
        return {"error": {"message": message, "type": kind, "param": None,
                          "code": "insufficient_quota" if status == 402 else code}}
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
    response = jsonify(error_body(status, code, message, details))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _validation_message(detail: dict[str, Any]) -> str:
    """Turn apiflask's {'json': {'field': ['msg']}} into 'field: msg' for humans."""
    for location in detail.values():
        if isinstance(location, dict):
            for field, messages in location.items():
                text = messages[0] if isinstance(messages, list) and messages else messages
                if isinstance(text, dict):  # nested field
                    sub, subtext = next(iter(text.items()))
                    field = f"{field}.{sub}"
                    text = subtext[0] if isinstance(subtext, list) else subtext
                return f"{field}: {text}"
    return "the request body is not valid"


def register_error_handlers(app: APIFlask) -> None:
    @app.before_request
    def _refuse_oversized_body() -> None:
        """Refuse a declared oversized body up front, even on routes that never read it."""
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length and request.content_length > limit:
            raise RequestEntityTooLarge(f"the request body is larger than {limit} bytes")

    @app.error_processor
    def _api_error(error: HTTPError) -> Response:
        status = error.status_code
        code = STATUS_CODES.get(status, "error")
        message = error.message
        if status == 422 and error.detail:
            message = _validation_message(error.detail)
        if status == 400 and error.detail:
            message = _validation_message(error.detail)
        return error_response(status, code, message, error.detail or None, error.headers)

    @app.errorhandler(HubError)
    def _hub_error(error: HubError) -> Response:
        return error_response(error.http_status, error.code, error.message, error.details,
                              dict(error.headers))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response | HTTPException:
        status = error.code or 500
        if not _wants_json():
            return error
        headers = {}
        if status == 405 and error.get_response().headers.get("Allow"):
            headers["Allow"] = error.get_response().headers["Allow"]
        if status == 429 and error.get_response().headers.get("Retry-After"):
            headers["Retry-After"] = error.get_response().headers["Retry-After"]
        return error_response(status, STATUS_CODES.get(status, "error"),
                              error.description or error.name, headers=headers)

    def _unreachable(dependency: str, error: Exception) -> Response:
        log.error("dependency_unreachable", dependency=dependency, path=request.path,
                  error=f"{type(error).__name__}: {str(error)[:200]}")
        return _hub_error(DependencyUnavailable(dependency))

    def _database_error(error: Exception) -> Response:
        if database_unreachable(error):
            return _unreachable("database", error)
        return _unexpected(error)

    def _redis_error(error: Exception) -> Response:
        return _unreachable("Redis", error)

    @app.errorhandler(MaxConnectionsExceeded)
    def _pool_exhausted(error: Exception) -> Response:
        log.warning("database_pool_exhausted", path=request.path)
        return _hub_error(DatabaseBusy())

    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, _database_error)
    for error_class in REDIS_ERRORS:
        app.register_error_handler(error_class, _redis_error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled_error", error=type(error).__name__)
        report_unhandled(error)
        return error_response(500, "internal_error", "an unexpected error occurred; it was logged")


def _wants_json() -> bool:
    path = request.path
    return path.startswith(("/api", "/v1", "/ws", "/healthz", "/readyz", "/metrics")) or \
        request.accept_mimetypes.best == "application/json"

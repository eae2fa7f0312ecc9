"""Authentication and authorization errors."""

from __future__ import annotations

from app.errors import HubError


class Unauthorized(HubError):
    """Authentication is required: send a valid bearer token or API key."""

    http_status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(HubError):
    """Your account may not do this."""

    http_status = 403
    code = "forbidden"


class EmailNotVerified(HubError):
    """Verify your e-mail address first: unverified accounts cannot spend credits."""

    http_status = 403
    code = "email_not_verified"

"""Who may read `/metrics`.

The metrics name the models in use, the provider channels, and the credits charged and tokens
billed per model: business figures, not for the public. With HUB_METRICS_TOKEN set, a scraper
must send it as `Authorization: Bearer <token>` (compared in constant time). Without it,
development serves them to anyone, and production to no one (404) unless HUB_METRICS_PUBLIC=true
says the operator keeps `/metrics` on an internal address only.
"""

from __future__ import annotations

import hmac

from app.config import Settings
from app.errors import HubError
from app.security.errors import Forbidden, Unauthorized


class MetricsTokenRequired(Unauthorized):
    """/metrics needs the metrics token: send `Authorization: Bearer <HUB_METRICS_TOKEN>`."""

    code = "metrics_token_required"


class MetricsTokenInvalid(Forbidden):
    """The metrics token is wrong."""

    code = "metrics_token_invalid"


class MetricsNotServed(HubError):
    """/metrics is not served here: set HUB_METRICS_TOKEN (or HUB_METRICS_PUBLIC=true when only
    an internal address reaches it)."""

    http_status = 404
    code = "metrics_not_served"


def check_metrics_access(settings: Settings, presented_token: str | None) -> None:
    """Raise unless a caller presenting `presented_token` (None: none sent) may read /metrics."""
    if settings.HUB_METRICS_TOKEN:
        if presented_token is None:
            raise MetricsTokenRequired()
        if not hmac.compare_digest(presented_token.encode(), settings.HUB_METRICS_TOKEN.encode()):
            raise MetricsTokenInvalid()
        return
    if settings.HUB_ENV == "production" and not settings.HUB_METRICS_PUBLIC:
        raise MetricsNotServed()

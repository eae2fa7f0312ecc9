"""Error tracking with Sentry: on only when `SENTRY_DSN` is set, scrubbed before anything leaves.

What becomes an event: an unhandled error in a web request (the 500 handler reports it, see
`report_unhandled`), an actor that raises an unexpected error (the Dramatiq integration), and a
crash of a process or thread. Log lines are breadcrumbs on those events, never events of their
own, so one failure is one event. Every event carries the hub's request id (web) or Dramatiq
message id, actor and job id (workers) as tags, the ids the logs carry, and goes through
`app.error_scrubbing` last.

`init_error_tracking` must run before the broker is built: the Dramatiq integration adds its
middleware to brokers created after it (`create_app` calls it first thing).
"""

from __future__ import annotations

import inspect
import logging
from functools import lru_cache, partial
from typing import Any, Literal

import dramatiq
import sentry_sdk
import structlog
from dramatiq.errors import ActorNotFound
from sentry_sdk.integrations import Integration
from sentry_sdk.integrations.dramatiq import DramatiqIntegration
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.utils import event_from_exception

from app.config import Settings
from app.error_scrubbing import scrub

Component = Literal["web", "worker", "scheduler"]
DEFAULT_RELEASE_NAME = "smart-ai-hub"


def init_error_tracking(settings: Settings, *, component: Component, release: str) -> bool:
    """Start reporting errors to `SENTRY_DSN`; with no DSN, do nothing (and send nothing).

    `release` is used when `SENTRY_RELEASE` is unset. Returns whether reporting is on.
    """
    if not settings.SENTRY_DSN:
        return False
    sentry_sdk.init(
        dsn=settings.SENTRY_DSN,
        environment=settings.SENTRY_ENVIRONMENT or settings.HUB_ENV,
        release=settings.SENTRY_RELEASE or f"{DEFAULT_RELEASE_NAME}@{release}",
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        send_default_pii=False,
        default_integrations=True,
        auto_enabling_integrations=False,  # only the integrations named here
        integrations=_integrations(component),
        before_send=partial(before_send, component=component),
        before_send_transaction=partial(before_send, component=component),
        # gzip whatever happens to be installed: the SDK switches to brotli when the `brotli`
        # module is importable (Locust's dependencies bring it), which a relay may not accept
        _experiments={"transport_compression_algo": "gzip"},
    )
    return True


def _integrations(component: Component) -> list[Integration]:
    # Logs become breadcrumbs only: the handlers that matter report the error itself, with
    # its stack, and an error-level log line beside it would be a second event for one failure.
    logging_integration = LoggingIntegration(level=logging.INFO, event_level=None)
    if component == "web":
        # A web process in the embedded shape also runs actors on its own threads.
        return [logging_integration, FlaskIntegration(), DramatiqIntegration()]
    if component == "worker":
        return [logging_integration, DramatiqIntegration()]
    return [logging_integration]


def report_unhandled(error: BaseException) -> None:
    """Report an error the web app answered with a 500 (its handler keeps Flask's own signal,
    and so the Flask integration, from seeing it). Does nothing when tracking is off."""
    client = sentry_sdk.get_client()
    if not client.is_active():
        return
    event, hint = event_from_exception(error, client_options=client.options,
                                       mechanism={"type": "flask", "handled": False})
    sentry_sdk.capture_event(event, hint=hint)


def before_send(event: dict[str, Any], hint: dict[str, Any], *,
                component: Component) -> dict[str, Any]:
    """Tag the event with the process kind and the ids the logs carry, then scrub it (the
    last step on purpose)."""
    tags = event.setdefault("tags", {})
    tags.update(_correlation_tags(event), component=component)
    return scrub(event)


def _correlation_tags(event: dict[str, Any]) -> dict[str, str]:
    bound = structlog.contextvars.get_contextvars()
    message = (event.get("contexts") or {}).get("dramatiq", {}).get("data") or {}
    tags = {
        "request_id": bound.get("request_id"),
        "message_id": bound.get("message_id")
        or (event.get("extra") or {}).get("dramatiq_message_id") or message.get("message_id"),
        "actor": bound.get("actor") or message.get("actor_name"),
    }
    if isinstance(message, dict) and message.get("actor_name"):
        tags["job_id"] = _job_id(message)
    return {name: str(value) for name, value in tags.items() if value}


def _job_id(message: dict[str, Any]) -> str | None:
    """The job id a job actor was given (its first parameter is `job_id`), else None."""
    kwargs = message.get("kwargs") or {}
    if isinstance(kwargs, dict) and kwargs.get("job_id"):
        return str(kwargs["job_id"])
    args = message.get("args") or []
    if args and _takes_job_id_first(str(message["actor_name"])):
        return str(args[0])
    return None


@lru_cache(maxsize=64)
def _takes_job_id_first(actor_name: str) -> bool:
    try:
        actor = dramatiq.get_broker().get_actor(actor_name)
    except ActorNotFound:
        return False
    parameters = list(inspect.signature(actor.fn).parameters)
    return bool(parameters) and parameters[0] == "job_id"

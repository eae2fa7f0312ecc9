"""The Dramatiq broker, chosen from the settings, and the hub's actor decorator.

`BROKER_URL` amqp:// → RabbitMQ (push delivery: an idle job starts at once); redis:// → Redis
(polling: an idle job waits for the next poll; measured: docs/benchmarks/2026-11-25-queue-latency.md);
neither but `REDIS_URL` → Redis on it; nothing → Dramatiq's in-memory StubBroker with worker threads inside the web process.

Actors are declared with `hub_actor` and bound to whichever broker `install_broker` installs,
so one process (or one test run) can switch brokers without re-importing the task modules.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

import dramatiq
import structlog
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware
from flask import Flask

from app.config import Settings
from app.extensions import db
from app.scheduler import PeriodicRunRecorder

_actors: list[dramatiq.Actor] = []
_placeholder = StubBroker()  # actors live here until a real broker is installed


def hub_actor(*, queue_name: str = "default", actor_name: str | None = None,
              options_from_settings: Callable[[Settings], dict[str, Any]] | None = None,
              **options: Any) -> Callable[[Callable[..., Any]], dramatiq.Actor]:
    """Declare an actor. Set `max_retries`, `time_limit` (ms) and `throws` explicitly.

    `options_from_settings` computes options (e.g. a configurable time limit) from the settings
    when a broker is installed, overriding the static ones.
    """

    def decorator(fn: Callable[..., Any]) -> dramatiq.Actor:
        name = actor_name or f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"
        actor = dramatiq.Actor(fn, broker=_placeholder, actor_name=name, queue_name=queue_name,
                               priority=0, options=options)
        actor.base_queue_name = queue_name  # type: ignore[attr-defined]
        actor.options_from_settings = options_from_settings  # type: ignore[attr-defined]
        _actors.append(actor)
        return actor

    return decorator


def build_broker(settings: Settings) -> dramatiq.Broker:
    kind = settings.broker_kind
    if kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=settings.broker_url, confirm_delivery=True)
    if kind == "redis":
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=settings.broker_url,
                           namespace=f"{settings.HUB_REDIS_PREFIX}dramatiq")
    return StubBroker()


def install_broker(app: Flask, broker: dramatiq.Broker, settings: Settings) -> None:
    """Make `broker` the global one, give it the app context, and bind every actor to it."""
    importlib.import_module("app.tasks")  # declares the actors

    broker.add_middleware(AppContextMiddleware(app))
    broker.add_middleware(PeriodicRunRecorder())  # after: its after-hook runs inside the context
    dramatiq.set_broker(broker)
    for actor in _actors:
        actor.broker = broker
        actor.queue_name = settings.HUB_QUEUE_PREFIX + actor.base_queue_name  # type: ignore[attr-defined]
        if actor.options_from_settings is not None:  # type: ignore[attr-defined]
            actor.options.update(actor.options_from_settings(settings))  # type: ignore[attr-defined]
        broker.actors.pop(actor.actor_name, None)
        broker.declare_actor(actor)


class AppContextMiddleware(Middleware):
    """Each message runs inside an app context with its own database connection, always closed."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._local = threading.local()

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        ctx = self.app.app_context()
        ctx.push()
        self._local.ctx = ctx
        db.connect(reuse_if_open=True)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(message_id=message.message_id,
                                               actor=message.actor_name)

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        self._teardown()

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        self._teardown()

    def _teardown(self) -> None:
        if not db.is_closed():
            db.close()
        ctx = getattr(self._local, "ctx", None)
        if ctx is not None:
            self._local.ctx = None
            ctx.pop()
        structlog.contextvars.clear_contextvars()

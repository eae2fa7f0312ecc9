"""The per-app runtime: settings and the shared backends (Redis, event stream, broker).

Built once by the factory and stored on the app; actors reach it through the app context
that `AppContextMiddleware` pushes.
"""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq
import redis
from flask import current_app

from app.config import Settings
from app.events import EventStream, MemoryEventStream, RedisEventStream

EXTENSION_KEY = "hub"


@dataclass
class Runtime:
    settings: Settings
    redis: redis.Redis | None
    events: EventStream
    broker: dramatiq.Broker


def build_redis(settings: Settings) -> redis.Redis | None:
    if not settings.uses_redis:
        return None
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2,
                                health_check_interval=30,
                                max_connections=settings.HUB_REDIS_MAX_CONNECTIONS)


def build_event_stream(settings: Settings, client: redis.Redis | None) -> EventStream:
    if client is None:
        return MemoryEventStream(ttl_s=settings.HUB_EVENT_TTL_S)
    return RedisEventStream(client, prefix=settings.HUB_REDIS_PREFIX,
                            ttl_s=settings.HUB_EVENT_TTL_S)


def current_runtime() -> Runtime:
    return current_app.extensions[EXTENSION_KEY]


def current_settings() -> Settings:
    return current_runtime().settings


def current_events() -> EventStream:
    return current_runtime().events


def current_redis() -> redis.Redis | None:
    return current_runtime().redis

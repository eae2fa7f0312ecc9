"""What /metrics reads at each scrape rather than counts: the depth of the hub's queues (from the
broker) and each channel's circuit breaker (from the breaker store). A broker or Redis that does
not answer leaves its part out, logged, and never fails the scrape: /readyz names it."""

from __future__ import annotations

from dataclasses import dataclass

import redis
import structlog

from app.metrics import live_state_exposition
from app.providers.breaker import CLOSED
from app.providers.registry import Registry
from app.services.queue_depth import QueueDepthUnreadable, queue_depths
from app.services.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BreakerReading:
    provider: str
    channel: str
    state: str

    @property
    def is_open(self) -> bool:
        """Open or half-open: the channel gets no calls but, after the cool-down, one probe."""
        return self.state != CLOSED


@dataclass(frozen=True)
class LiveState:
    queue_depths: dict[str, int] | None  # None: the broker did not answer
    breakers: list[BreakerReading]  # empty: the store did not answer

    def exposition(self) -> bytes:
        return live_state_exposition(self.queue_depths, ((b.provider, b.channel, b.is_open)
                                                         for b in self.breakers))


def read_live_state(runtime: Runtime, registry: Registry) -> LiveState:
    return LiveState(queue_depths=_queue_depths(runtime), breakers=_breakers(registry))


def _queue_depths(runtime: Runtime) -> dict[str, int] | None:
    try:
        return queue_depths(runtime.broker)
    except QueueDepthUnreadable as exc:
        log.warning("queue_depths_unreadable", error=str(exc)[:300])
        return None


def _breakers(registry: Registry) -> list[BreakerReading]:
    channels = registry.channels
    try:
        states = registry.breakers.states(sorted(channels))
    except redis.RedisError as exc:
        log.warning("breaker_states_unreadable", error=f"{type(exc).__name__}: {exc}"[:300])
        return []
    return [BreakerReading(channels[channel_id].provider, channel_id, state)
            for channel_id, state in states.items()]

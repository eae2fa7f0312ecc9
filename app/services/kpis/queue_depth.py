"""The queues' depths for the back-office home, from the broker read `/metrics` makes
(`app.services.queue_depth`: a connection of its own, time-boxed, so a broker that does not
answer costs the page about a second, never hangs it), grouped per queue: the messages ready
for a worker, and those waiting in its delay queue (retries with backoff, delayed sends)."""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq
from dramatiq.common import dq_name, q_name

from app.errors import ServiceUnavailable
from app.services.queue_depth import QueueDepthUnreadable
from app.services.queue_depth import queue_depths as read_depths
from app.services.runtime import current_runtime


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    ready: int  # waiting for a worker
    delayed: int  # in the delay queue: retries and delayed sends, not yet due


class QueueDepthUnavailable(ServiceUnavailable):
    """The broker could not be asked how many messages wait."""

    code = "queue_depth_unavailable"


def queue_depths(broker: dramatiq.Broker | None = None) -> list[QueueDepth]:
    """Every queue of the app's broker (its actors' queues), by name."""
    try:
        depths = read_depths(broker or current_runtime().broker)
    except QueueDepthUnreadable as exc:
        raise QueueDepthUnavailable(f"the broker did not answer: {exc}") from None
    return [QueueDepth(name, depths.get(name, 0), depths.get(dq_name(name), 0))
            for name in sorted({q_name(name) for name in depths})]

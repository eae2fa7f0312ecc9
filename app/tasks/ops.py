"""Operational actors: a round trip through the queue to prove the workers are alive."""

from __future__ import annotations

import time

from app.queue import hub_actor
from app.services.runtime import current_events


@hub_actor(queue_name="ops", max_retries=0, time_limit=10_000)
def worker_check(stream: str, sent_at: float) -> None:
    """Append `status` then `done` to `stream`, reporting how long the message waited."""
    events = current_events()
    waited_ms = round((time.time() - sent_at) * 1000, 2)
    events.append(stream, "status", {"status": "running", "queue_wait_ms": waited_ms})
    events.append(stream, "done", {"status": "succeeded"})
    events.finish(stream)

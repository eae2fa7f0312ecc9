"""Follow a job's event stream from any id until its `done` event, for WebSocket and SSE."""

from __future__ import annotations

import time
from collections.abc import Iterator

from app.events import Event, EventStream
from app.services.runtime import current_events

READ_SLICE_S = 1.0  # a blocked reader wakes at least this often (keepalives, client messages)


class StreamIdle(Exception):
    """No event arrived for the idle timeout."""


def follow(job_id: str, after_id: str = "0", *, idle_timeout_s: float,
           slice_s: float = READ_SLICE_S, events: EventStream | None = None,
           ) -> Iterator[Event | None]:
    """Yield events after `after_id` through `done`; yield None when a read slice was empty.

    Pass `events` to follow outside an app context (a streamed response body).
    """
    events = events or current_events()
    last_event_at = time.monotonic()
    with events.watch(job_id, after_id) as watch:
        while True:
            batch = watch.next(slice_s)
            if not batch:
                if time.monotonic() - last_event_at > idle_timeout_s:
                    raise StreamIdle(f"no event for {idle_timeout_s:g} s")
                yield None
                continue
            last_event_at = time.monotonic()
            for event in batch:
                yield event
                if event.type == "done":
                    return

"""A round trip web → queue → worker → event stream → web, used by operators and tests."""

from __future__ import annotations

import time

from app import dispatch
from app.errors import HubError
from app.services.runtime import current_events

DEFAULT_TIMEOUT_S = 5.0


class WorkerCheckTimedOut(HubError):
    """No worker finished the check in time: are the workers running?"""

    http_status = 504
    code = "worker_timeout"


def run_worker_check(stream: str, *, sent_at: float, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict:
    events = current_events()
    dispatch.send("ops.worker_check", stream, sent_at)
    after, deadline, queue_wait_ms = "0", time.monotonic() + timeout_s, None
    while (remaining := deadline - time.monotonic()) > 0:
        for event in events.read(stream, after, timeout_s=remaining):
            after = event.id
            if event.type == "status":
                queue_wait_ms = event.data.get("queue_wait_ms")
            if event.type == "done":
                return {"status": "ok", "queue_wait_ms": queue_wait_ms,
                        "round_trip_ms": round((time.time() - sent_at) * 1000, 2)}
    raise WorkerCheckTimedOut(f"no worker answered within {timeout_s:g} s; are workers running?")

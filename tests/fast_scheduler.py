"""A scheduler process for tests: `python -m tests.fast_scheduler`.

The real `app.scheduler.run_scheduler` (leader lock, stand-by, step-down, signals), with the
hub's periodic jobs replaced by one that does nothing, `tests.tick`, every `TICK_S` seconds
(default 1): a test then sees each leader's enqueues within seconds, on the queue named by the
process's `HUB_QUEUE_PREFIX`.
"""

from __future__ import annotations

import os

from app import create_app
from app.queue import hub_actor
from app.scheduler import PERIODIC_JOBS, run_scheduler


@hub_actor(queue_name="ops", actor_name="tests.tick", max_retries=0, time_limit=10_000)
def tick() -> None:
    """Nothing: tests count this actor's messages on the broker."""


if __name__ == "__main__":
    app = create_app()
    PERIODIC_JOBS.clear()  # the hub's own jobs run every 15 s or more: too slow for a test
    PERIODIC_JOBS["tests.tick"] = int(os.environ.get("TICK_S", "1"))
    run_scheduler(app)

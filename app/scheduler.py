"""Periodic jobs: the scheduler only enqueues Dramatiq messages; workers do the work.

Areas register their jobs in `PERIODIC_JOBS` (actor name → interval in seconds). The
`scheduler` process (Procfile) runs them with APScheduler; a Redis lock makes a second
instance stand by instead of enqueuing twice. Embedded mode runs them on a background thread.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable

import dramatiq
import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.services.runtime import current_runtime

log = structlog.get_logger(__name__)

PERIODIC_JOBS: dict[str, int] = {}  # actor name → interval_s
LOCK_TTL_S = 60


def periodic(interval_s: int) -> Callable[[dramatiq.Actor], dramatiq.Actor]:
    """Mark an actor (taking no arguments) to be enqueued every `interval_s` seconds."""

    def decorator(actor: dramatiq.Actor) -> dramatiq.Actor:
        PERIODIC_JOBS[actor.actor_name] = interval_s
        return actor

    return decorator


def _enqueue(app: Flask, actor_name: str) -> None:
    with app.app_context():
        broker = current_runtime().broker
        broker.get_actor(actor_name).send()
        log.info("periodic_job_enqueued", actor=actor_name)


def _add_jobs(scheduler: BackgroundScheduler | BlockingScheduler, app: Flask) -> None:
    for actor_name, interval_s in PERIODIC_JOBS.items():
        scheduler.add_job(_enqueue, "interval", seconds=interval_s, args=(app, actor_name),
                          id=actor_name, coalesce=True, max_instances=1)


def start_background_scheduler(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(daemon=True)
    _add_jobs(scheduler, app)
    scheduler.start()
    return scheduler


def acquire_leadership(client, key: str, me: str) -> bool:
    """Take (or keep) the scheduler lock; True if this instance is the leader."""
    if client.set(key, me, nx=True, ex=LOCK_TTL_S):
        return True
    current = client.get(key)
    if current is not None and current.decode() == me:
        client.expire(key, LOCK_TTL_S)
        return True
    return False


def run_scheduler(app: Flask) -> None:
    """Block forever enqueuing periodic jobs while this instance holds the leader lock."""
    with app.app_context():
        client = current_runtime().redis
        key = f"{current_runtime().settings.HUB_REDIS_PREFIX}scheduler:leader"
    me = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
    while client is not None and not acquire_leadership(client, key, me):
        log.info("scheduler_standby", leader=client.get(key))
        time.sleep(LOCK_TTL_S / 2)
    scheduler = BlockingScheduler()
    _add_jobs(scheduler, app)
    if client is not None:
        scheduler.add_job(acquire_leadership, "interval", args=(client, key, me),
                          seconds=LOCK_TTL_S // 3, id="leader-renewal")
    log.info("scheduler_started", jobs=sorted(PERIODIC_JOBS))
    scheduler.start()

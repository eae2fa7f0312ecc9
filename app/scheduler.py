"""Periodic jobs: the scheduler only enqueues Dramatiq messages; workers do the work.

Areas register their jobs in `PERIODIC_JOBS` (actor name → interval in seconds). The
`scheduler` process (Procfile) runs them with APScheduler while it holds a Redis leader lock
(`LeaderScheduler`): a second instance stands by. A leader that cannot renew the lock (it
expired, was deleted or taken, or Redis is unreachable) stops enqueuing and stands by again, and
each enqueue first renews the lock, so a leader that lost it enqueues nothing more. Embedded
mode runs the jobs on a background thread of the web process, without a lock.

Every enqueue, and every run a worker finishes without raising, is recorded
(`app.services.periodic_jobs`): `/readyz`, `/metrics` and the back office say when a job is
overdue, and a scheduler that starts leading enqueues each job one interval after its last
enqueue (at once if it never was).
"""

from __future__ import annotations

import signal
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import dramatiq
import redis
import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from dramatiq.middleware import Middleware
from flask import Flask
from peewee import PeeweeException

from app.extensions import db
from app.leader_lock import LeaderLock
from app.models.base import utcnow
from app.services import periodic_jobs
from app.services.runtime import current_runtime

log = structlog.get_logger(__name__)

PERIODIC_JOBS: dict[str, int] = {}  # actor name → interval_s


def periodic(interval_s: int) -> Callable[[dramatiq.Actor], dramatiq.Actor]:
    """Mark an actor (taking no arguments) to be enqueued every `interval_s` seconds."""

    def decorator(actor: dramatiq.Actor) -> dramatiq.Actor:
        PERIODIC_JOBS[actor.actor_name] = interval_s
        return actor

    return decorator


class PeriodicRunRecorder(Middleware):
    """Records each run of a periodic actor that finished without raising.

    Added after `AppContextMiddleware`: Dramatiq calls `after_…` hooks in reverse order, so this
    one still has the message's app context and database connection."""

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        if exception is None and message.actor_name in PERIODIC_JOBS:
            periodic_jobs.record_run(message.actor_name)


def _enqueue(app: Flask, actor_name: str) -> None:
    with app.app_context(), db.connection_context():
        current_runtime().broker.get_actor(actor_name).send()
        periodic_jobs.record_enqueued(actor_name)
        log.info("periodic_job_enqueued", actor=actor_name)


def _first_runs(app: Flask, jobs: Mapping[str, int]) -> dict[str, datetime]:
    """When to enqueue each job first (aware UTC, as APScheduler wants it)."""
    try:
        with app.app_context(), db.connection_context():
            runs = periodic_jobs.next_runs(jobs)
    except PeeweeException as exc:  # the database is down: run on time rather than not at all
        log.warning("periodic_job_records_unreadable", error=f"{type(exc).__name__}: {exc}")
        runs = dict.fromkeys(jobs, utcnow())
    return {job: at.replace(tzinfo=UTC) for job, at in runs.items()}


def _add_jobs(scheduler: BackgroundScheduler, app: Flask, jobs: Mapping[str, int],
              enqueue: Callable[[str], None]) -> None:
    first = _first_runs(app, jobs)
    for actor_name, interval_s in jobs.items():
        scheduler.add_job(enqueue, "interval", seconds=interval_s, args=(actor_name,),
                          id=actor_name, next_run_time=first[actor_name], coalesce=True,
                          max_instances=1, misfire_grace_time=None)


def start_background_scheduler(app: Flask) -> BackgroundScheduler:
    """Embedded mode: enqueue the periodic jobs from a thread of this process (no lock)."""
    scheduler = BackgroundScheduler(daemon=True)
    _add_jobs(scheduler, app, PERIODIC_JOBS, lambda actor_name: _enqueue(app, actor_name))
    scheduler.start()
    return scheduler


class LeaderScheduler:
    """Enqueues `jobs` while it holds `lock` (always, when `lock` is None); stands by while
    another instance holds it, and tries again every `renew_every_s`."""

    def __init__(self, app: Flask, lock: LeaderLock | None, jobs: Mapping[str, int], *,
                 renew_every_s: float) -> None:
        self.app = app
        self.lock = lock
        self.jobs = jobs
        self.renew_every_s = renew_every_s
        self._standing_by = False

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set: lead when the lock can be had, stand by when it cannot."""
        while not stop.is_set():
            if self._acquire():
                self._lead(stop)
            else:
                stop.wait(self.renew_every_s)
        self._release()

    def _lead(self, stop: threading.Event) -> None:
        scheduler = BackgroundScheduler(daemon=True)
        _add_jobs(scheduler, self.app, self.jobs, self._enqueue_if_leader)
        scheduler.start()
        log.info("scheduler_leading", jobs=sorted(self.jobs), holder=self._holder())
        try:
            while not stop.wait(self.renew_every_s):
                if not self._renew():
                    log.warning("scheduler_stepped_down", holder=self._holder())
                    return
        finally:
            scheduler.shutdown(wait=True)  # an enqueue under way finishes (or is refused) first

    def _enqueue_if_leader(self, actor_name: str) -> None:
        if not self._renew():
            log.warning("periodic_job_not_enqueued", actor=actor_name, reason="not the leader")
            return
        _enqueue(self.app, actor_name)

    def _acquire(self) -> bool:
        if self.lock is None:
            return True
        try:
            acquired = self.lock.acquire()
            leader = None if acquired else self.lock.current_holder()
        except redis.RedisError as exc:
            log.warning("scheduler_lock_unreachable", error=f"{type(exc).__name__}: {exc}")
            return False
        if not acquired and not self._standing_by:
            log.info("scheduler_standby", leader=leader, holder=self._holder())
        self._standing_by = not acquired
        return acquired

    def _renew(self) -> bool:
        """Keep the lock; False (so: stop enqueuing) if it was lost or Redis cannot say."""
        if self.lock is None:
            return True
        try:
            return self.lock.renew()
        except redis.RedisError as exc:
            log.warning("scheduler_lock_unreachable", error=f"{type(exc).__name__}: {exc}")
            return False

    def _release(self) -> None:
        if self.lock is not None:
            try:
                self.lock.release()
            except redis.RedisError:
                log.warning("scheduler_lock_not_released", reason="redis unreachable")

    def _holder(self) -> str | None:
        return self.lock.holder if self.lock is not None else None


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the scheduler then lets its lock go and returns."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def run_scheduler(app: Flask, *, stop: threading.Event | None = None) -> None:
    """Enqueue periodic jobs while this instance leads, stand by while another does; return
    once `stop` is set (by default on SIGTERM or SIGINT)."""
    stop = stop or _stop_on_signals()
    with app.app_context():
        runtime = current_runtime()
        ttl_s = runtime.settings.HUB_SCHEDULER_LOCK_TTL_S
        lock = None
        if runtime.redis is not None:
            key = f"{runtime.settings.HUB_REDIS_PREFIX}scheduler:leader"
            holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
            lock = LeaderLock(runtime.redis, key, holder, ttl_s=ttl_s)
    LeaderScheduler(app, lock, PERIODIC_JOBS, renew_every_s=ttl_s / 3).run(stop)

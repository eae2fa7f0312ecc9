"""The scheduler enqueues registered periodic actors, only one instance leads, and a leader that
loses its lock stops enqueuing while a stand-by takes over."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import pytest

from app import create_app
from app.leader_lock import LeaderLock
from app.models.base import utcnow
from app.scheduler import start_background_scheduler
from app.services import periodic_jobs
from tests.conftest import QUEUE_PREFIX, REDIS_PREFIX, _truncate_all_tables, make_settings
from tests.scheduler_helpers import (
    AMQP_URL,
    RabbitQueues,
    TcpProxy,
    scheduler_process,
    wait_until,
)


@pytest.fixture
def lock_key(redis_client) -> str:
    key = f"{REDIS_PREFIX}scheduler:leader:{uuid.uuid4().hex}"
    yield key
    redis_client.delete(key)


def test_only_one_instance_leads(redis_client, lock_key) -> None:
    a = LeaderLock(redis_client, lock_key, "a", ttl_s=60)
    b = LeaderLock(redis_client, lock_key, "b", ttl_s=60)
    assert a.acquire()
    assert not b.acquire()
    assert a.renew() and a.acquire()  # the leader renews
    redis_client.delete(lock_key)
    assert not a.renew()  # a deleted lock is lost, not silently re-taken by a renewal
    assert b.acquire()  # a stand-by takes over
    assert not a.renew()  # taken by another: still lost
    assert redis_client.get(lock_key) == b"b"
    assert not a.release() and redis_client.get(lock_key) == b"b"  # nor released by the loser
    assert b.release() and redis_client.get(lock_key) is None


def test_periodic_actor_is_enqueued(migrated_database, monkeypatch) -> None:
    app = create_app(make_settings(REDIS_URL="", BROKER_URL=""))
    broker = app.extensions["hub"].broker
    monkeypatch.setattr("app.scheduler.PERIODIC_JOBS", {"ops.worker_check": 3600})
    sched = start_background_scheduler(app)  # never enqueued: enqueued at once
    queue = broker.queues[app.extensions["hub"].settings.HUB_QUEUE_PREFIX + "ops"]
    try:
        job = sched.get_job("ops.worker_check")
        assert job is not None and job.trigger.interval.total_seconds() == 3600
        wait_until(lambda: queue.qsize() == 1, timeout_s=10, what="the first enqueue")
    finally:
        sched.shutdown(wait=True)
        _truncate_all_tables()


def test_a_restarted_scheduler_waits_for_the_interval_since_the_last_enqueue(
        migrated_database, monkeypatch) -> None:
    """A scheduler that restarts more often than a job's interval neither starves the job nor
    enqueues it again before its time."""
    app = create_app(make_settings(REDIS_URL="", BROKER_URL=""))
    jobs = {"ops.worker_check": 3600, "generation.reap_stale_jobs": 15}
    monkeypatch.setattr("app.scheduler.PERIODIC_JOBS", jobs)
    sent_at = utcnow() - timedelta(seconds=600)
    with app.app_context():
        periodic_jobs.record_enqueued("ops.worker_check", at=sent_at)
        periodic_jobs.record_enqueued("generation.reap_stale_jobs", at=sent_at)
    sched = start_background_scheduler(app)
    try:
        hourly = sched.get_job("ops.worker_check").next_run_time
        overdue = sched.get_job("generation.reap_stale_jobs").next_run_time
    finally:
        sched.shutdown(wait=True)
        _truncate_all_tables()
    assert hourly == (sent_at + timedelta(seconds=3600)).replace(tzinfo=UTC)
    assert overdue - sent_at.replace(tzinfo=UTC) > timedelta(seconds=590)  # due: at once


@pytest.fixture
def scheduler_queues(migrated_database):
    queues = RabbitQueues()
    yield queues
    queues.close()
    _truncate_all_tables()


def test_a_leader_cut_off_from_redis_steps_down_and_the_stand_by_takes_over(
        scheduler_queues) -> None:
    """Two scheduler processes share the lock; each enqueues to a queue of its own (RabbitMQ,
    which both still reach). A loses Redis: it must stop enqueuing before its lock expires,
    so that B, taking over, is never a second leader. When B leaves, A (standing by) leads."""
    count = scheduler_queues.count
    queue_a, queue_b = f"{QUEUE_PREFIX}a.ops", f"{QUEUE_PREFIX}b.ops"
    common = {"BROKER_URL": AMQP_URL, "HUB_SCHEDULER_LOCK_TTL_S": 3}
    proxy = TcpProxy(("127.0.0.1", 6379))
    settings_a = make_settings(REDIS_URL=f"redis://127.0.0.1:{proxy.port}/0",
                               HUB_QUEUE_PREFIX=f"{QUEUE_PREFIX}a.", **common)
    settings_b = make_settings(HUB_QUEUE_PREFIX=f"{QUEUE_PREFIX}b.", **common)
    try:
        with scheduler_process(settings_a) as a:
            wait_until(lambda: count(queue_a) >= 2, timeout_s=30, what="A leads and enqueues")
            with scheduler_process(settings_b) as b:
                b.wait_for_log("scheduler_standby")
                sent_by_a = count(queue_a)
                wait_until(lambda: count(queue_a) > sent_by_a, timeout_s=10,
                           what="A still leads with B standing by")
                assert count(queue_b) == 0

                proxy.cut()  # A can neither renew its lock nor see that it lost it
                wait_until(lambda: count(queue_b) >= 1, timeout_s=20,
                           what="B takes over once A's lock has expired")
                a.wait_for_log("scheduler_stepped_down", timeout_s=1)
                sent_by_a = count(queue_a)
                wait_until(lambda: count(queue_b) >= 4, timeout_s=20, what="B keeps leading")
                assert count(queue_a) == sent_by_a  # three ticks of B: none from A

                proxy.restore()
            # B stopped (SIGTERM): it let its lock go, and A, standing by, leads again
            wait_until(lambda: count(queue_a) > sent_by_a, timeout_s=20, what="A leads again")
    finally:
        proxy.close()

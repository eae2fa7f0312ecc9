"""The scheduler enqueues registered periodic actors, and only one instance leads."""

from __future__ import annotations

import uuid

from app import scheduler
from app.scheduler import PERIODIC_JOBS, acquire_leadership, start_background_scheduler
from tests.conftest import REDIS_PREFIX, make_settings


def test_only_one_instance_leads(redis_client) -> None:
    key = f"{REDIS_PREFIX}scheduler:leader:{uuid.uuid4().hex}"
    assert acquire_leadership(redis_client, key, "a")
    assert not acquire_leadership(redis_client, key, "b")
    assert acquire_leadership(redis_client, key, "a")  # the leader renews
    redis_client.delete(key)
    assert acquire_leadership(redis_client, key, "b")  # a stand-by takes over


def test_periodic_actor_is_enqueued(migrated_database, monkeypatch) -> None:
    from app import create_app

    app = create_app(make_settings(REDIS_URL="", BROKER_URL=""))
    broker = app.extensions["hub"].broker
    monkeypatch.setitem(PERIODIC_JOBS, "ops.worker_check", 3600)
    sched = start_background_scheduler(app)
    try:
        job = sched.get_job("ops.worker_check")
        assert job is not None and job.trigger.interval.total_seconds() == 3600
    finally:
        sched.shutdown(wait=False)
    scheduler._enqueue(app, "ops.worker_check")
    queue = broker.queues[app.extensions["hub"].settings.HUB_QUEUE_PREFIX + "ops"]
    assert queue.qsize() == 1

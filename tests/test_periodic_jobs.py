"""A periodic job that has not run for twice its interval makes /readyz answer 503 naming it and
/metrics report it overdue, on PostgreSQL with Redis and embedded (SQLite, no Redis); a run
brings both back; the real scheduler and worker processes record runs."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from peewee import OperationalError
from prometheus_client.parser import text_string_to_metric_families

from app.embedded import start_embedded_worker
from app.extensions import db
from app.models.base import utcnow
from app.scheduler import PERIODIC_JOBS
from app.services.periodic_jobs import job_states, record_run, register_jobs
from tests.conftest import _truncate_all_tables, sqlite_app
from tests.scheduler_helpers import scheduler_process, wait_until
from tests.workers import dramatiq_workers

REAPER = "generation.reap_stale_jobs"  # every 15 s: overdue after 30 s without a run
HOLDS = "ledger.release_expired_holds"  # every 60 s


@pytest.fixture
def fresh_app(app):
    """`app` on empty tables: rows another test left (it truncates after) would age here."""
    _truncate_all_tables()
    return app


def _metric(client, name: str, job: str) -> float | None:
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("job") == job:
                return sample.value
    return None


def _ago(seconds: float) -> datetime:
    return utcnow() - timedelta(seconds=seconds)


def test_intervals_these_tests_rely_on() -> None:
    importlib.import_module("app.tasks")  # declares the actors, and with them the jobs
    assert PERIODIC_JOBS[REAPER] == 15 and PERIODIC_JOBS[HOLDS] == 60


def test_readiness_and_metrics_flip_when_a_job_is_overdue_and_back_after_a_run(
        fresh_app, client) -> None:
    fresh = client.get("/readyz")  # a fresh deployment: nothing ran yet, nothing is overdue
    assert fresh.status_code == 200
    assert fresh.json["checks"]["periodic_jobs"] == "ok"
    assert _metric(client, "hub_periodic_job_overdue", REAPER) == 0
    assert _metric(client, "hub_periodic_job_last_run_timestamp_seconds", REAPER) is None

    with fresh_app.app_context():
        record_run(REAPER, at=_ago(28))
    assert client.get("/readyz").status_code == 200  # within twice its interval

    last_run = _ago(31)
    with fresh_app.app_context():
        record_run(REAPER, at=last_run)
    response = client.get("/readyz")
    assert response.status_code == 503
    error = response.json["error"]
    assert error["code"] == "not_ready"
    assert re.fullmatch(r"not ready: periodic jobs overdue: generation\.reap_stale_jobs "
                        r"\(last run 3\d s ago, never enqueued, every 15 s\)", error["message"])
    assert error["details"]["checks"]["periodic_jobs"].startswith("overdue: " + REAPER)
    assert error["details"]["checks"]["database"] == "ok"
    assert _metric(client, "hub_periodic_job_overdue", REAPER) == 1
    assert _metric(client, "hub_periodic_job_overdue", HOLDS) == 0
    assert _metric(client, "hub_periodic_job_interval_seconds", REAPER) == 15
    assert _metric(client, "hub_periodic_job_last_run_timestamp_seconds", REAPER) == \
        pytest.approx(last_run.replace(tzinfo=UTC).timestamp())

    with fresh_app.app_context():
        record_run(REAPER)
    assert client.get("/readyz").status_code == 200
    assert _metric(client, "hub_periodic_job_overdue", REAPER) == 0


def test_a_job_that_never_ran_counts_from_when_the_hub_first_knew_it(fresh_app, client) -> None:
    with fresh_app.app_context():
        register_jobs([REAPER], at=_ago(28))  # known for less than twice 15 s
        register_jobs([HOLDS], at=_ago(125))  # known for more than twice 60 s
        register_jobs([HOLDS], at=_ago(1))  # a later start does not begin the count again
    response = client.get("/readyz")
    assert response.status_code == 503
    message = response.json["error"]["message"]
    assert re.fullmatch(r"not ready: periodic jobs overdue: ledger\.release_expired_holds "
                        r"\(never ran, known for 12\d s, never enqueued, every 60 s\)", message)
    assert _metric(client, "hub_periodic_job_overdue", HOLDS) == 1
    assert _metric(client, "hub_periodic_job_overdue", REAPER) == 0


def test_embedded_without_redis_flips_and_a_run_through_the_embedded_worker_recovers(
        tmp_path) -> None:
    with sqlite_app(tmp_path) as app:
        client = app.test_client()
        with app.app_context():
            record_run(REAPER, at=_ago(31))
        overdue = client.get("/readyz")
        assert overdue.status_code == 503
        assert overdue.json["error"]["details"]["checks"]["redis"] == "not configured"
        assert REAPER in overdue.json["error"]["message"]
        assert _metric(client, "hub_periodic_job_overdue", REAPER) == 1

        runtime = app.extensions["hub"]
        worker = start_embedded_worker(app)
        try:
            runtime.broker.get_actor(REAPER).send()  # the real actor, as the scheduler sends it
            runtime.broker.join(runtime.settings.HUB_QUEUE_PREFIX + "ops", timeout=30_000)
        finally:
            worker.stop()
        assert client.get("/readyz").status_code == 200
        assert _metric(client, "hub_periodic_job_overdue", REAPER) == 0


def test_a_failed_run_is_not_a_run(tmp_path) -> None:
    with sqlite_app(tmp_path) as app:
        runtime = app.extensions["hub"]
        with app.app_context():
            record_run(REAPER, at=_ago(31))
            db.execute_sql("ALTER TABLE jobs RENAME TO jobs_elsewhere")  # the reaper now fails
        worker = start_embedded_worker(app)
        try:
            runtime.broker.get_actor(REAPER).send()
            with pytest.raises(OperationalError, match="no such table: jobs"):
                runtime.broker.join(runtime.settings.HUB_QUEUE_PREFIX + "ops", timeout=30_000)
        finally:
            worker.stop()
        assert app.test_client().get("/readyz").status_code == 503


@pytest.mark.slow
def test_the_scheduler_process_records_runs_and_readiness_recovers(fresh_app, client,
                                                                    settings) -> None:
    with fresh_app.app_context():
        record_run(REAPER, at=_ago(31))
    assert client.get("/readyz").status_code == 503

    def all_ran() -> bool:
        with fresh_app.app_context():
            states = job_states(PERIODIC_JOBS)
        return all(s.last_enqueued_at and s.last_run_at for s in states) \
            and client.get("/readyz").status_code == 200

    with dramatiq_workers(settings), scheduler_process(settings, "scripts.scheduler") as sched:
        wait_until(all_ran, timeout_s=90, what="every periodic job enqueued, run and recorded")
        assert sched.logged("scheduler_leading")

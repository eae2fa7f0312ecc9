"""A job's hold lives exactly as long as the job (docs/guarantees.md, "Holds live as long as
their jobs"): no expiry while the job is queued or running, no run without an active hold, no
half-done cancel, and an API key's monthly counter gets an unused hold back in the month that
reserved it.

Run on PostgreSQL (the PL/pgSQL functions) and on SQLite (their Python twins). Jobs are opened
on a queue no worker reads, and run here by the worker's own code (`run_chat_job`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask

from app import create_app
from app.jobs import api as jobs
from app.jobs.reaper import reap_stale_jobs
from app.jobs.runs.ending import complete as _complete
from app.jobs.runs.worker import claim, run_chat_job
from app.models.api_keys import ApiKey
from app.models.base import utcnow
from app.models.jobs import Job, UsageRecord
from app.models.ledger import CreditHold, LedgerEntry
from app.services import api_keys, ledger
from app.services.ledger.checker import check_ledger
from app.services.ledger.errors import HoldNotFound
from app.services.runtime import current_events
from tests.conftest import QUEUE_PREFIX, make_settings, sqlite_app
from tests.factories import auth_headers, create_user

SPEC = jobs.ChatSpec(model="local-echo", messages=[{"role": "user", "content": "hello"}],
                     max_tokens=200)
BIG_SPEC = jobs.ChatSpec(model="local-echo", messages=[{"role": "user", "content": "hello"}],
                         max_tokens=4096)  # a hold of a few credits more: room for a partial charge
FUNDS = 10_000_000
PAST = timedelta(seconds=1)


@pytest.fixture(params=["postgres", "sqlite"])
def hub_app(request, app, tmp_path) -> Iterator[Flask]:
    """An app whose job queue no worker reads: a job stays queued until the test runs it."""
    if request.param == "postgres":
        yield create_app(make_settings(HUB_QUEUE_PREFIX=f"{QUEUE_PREFIX}idle."))
        create_app(make_settings())
        return
    with sqlite_app(tmp_path, BROKER_URL="") as embedded:
        yield embedded


def _funded_user():
    user = create_user()
    ledger.credit(user.id, FUNDS, kind="promo", idempotency_key=f"funds:{user.id}")
    return user


def _shown(hub_app: Flask, user, job_id: str) -> dict:
    """The job as its owner sees it (`GET /api/jobs/<id>`)."""
    headers = auth_headers(user, make_settings().SECRET_KEY)
    response = hub_app.test_client().get(f"/api/jobs/{job_id}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def _closing_events(job_id: str) -> list[tuple[str, dict]]:
    return [(e.type, e.data) for e in current_events().read(job_id)
            if e.type in ("usage", "error", "done")]


def _settled_in_full(user_id: int, charged: int) -> None:
    assert ledger.get_balance(user_id) == ledger.Balance(
        balance=FUNDS - charged, held=0, available=FUNDS - charged)
    assert check_ledger().violations == []


# --- 1. a hold does not expire while its job is queued or running ---------------------------

def test_a_requeued_job_keeps_its_hold_past_its_expiry_and_is_charged_from_it(hub_app) -> None:
    with hub_app.app_context():
        user = _funded_user()
        job = jobs.create_job(user, SPEC)
        # a worker claims it and dies before any output: the reaper puts it back in the queue
        assert claim(job.id) is not None
        Job.update(lease_expires_at=utcnow() - PAST).where(Job.id == job.id).execute()
        assert reap_stale_jobs() == 1
        assert Job.get_by_id(job.id).status == "queued"
        # the backlog outlasts the lifetime the hold was given when the job was opened
        CreditHold.update(expires_at=utcnow() - PAST).where(CreditHold.id == job.hold_id).execute()

        assert ledger.release_expired_holds() == 0
        assert ledger.get_balance(user.id).available == FUNDS - job.hold_credits  # still held

        run_chat_job(job.id)
        shown = _shown(hub_app, user, job.id)
        assert shown["status"] == "succeeded" and 0 < shown["cost_credits"]
        assert LedgerEntry.get(LedgerEntry.kind == "usage").shortfall_credits == 0
        _settled_in_full(user.id, shown["cost_credits"])


def test_the_expiry_sweep_still_releases_a_hold_no_active_job_owns(hub_app) -> None:
    with hub_app.app_context():
        user = _funded_user()
        orphan = ledger.place_hold(user.id, 500, idempotency_key="orphan", purpose="chat_job")
        job = jobs.create_job(user, SPEC)
        CreditHold.update(expires_at=utcnow() - PAST).execute()

        assert ledger.release_expired_holds() == 1
        assert CreditHold.get_by_id(orphan.hold_id).status == "released"
        assert CreditHold.get_by_id(job.hold_id).status == "active"


def test_a_job_whose_hold_is_gone_never_runs_and_costs_nothing(hub_app) -> None:
    with hub_app.app_context():
        user = _funded_user()
        job = jobs.create_job(user, SPEC)
        ledger.release_hold(job.hold_id)  # e.g. by the expiry sweep of a release before this one

        run_chat_job(job.id)

        shown = _shown(hub_app, user, job.id)
        assert (shown["status"], shown["cost_credits"]) == ("failed", 0)
        assert shown["error"]["code"] == "hold_released"
        assert shown["usage"] == {"input_tokens": 0, "output_tokens": 0}
        events = [e.type for e in current_events().read(job.id)]
        assert "delta" not in events and events[-1] == "done"  # the provider was never asked
        assert _closing_events(job.id)[-1] == ("done", {"status": "failed"})
        assert claim(job.id) is None  # a second delivery of its message finds it finished
        _settled_in_full(user.id, 0)


# --- 2. cancelling a queued job is one step --------------------------------------------------

def test_a_cancel_left_half_done_by_a_crash_is_finished_by_the_reaper(hub_app) -> None:
    with hub_app.app_context():
        user = _funded_user()
        job = jobs.create_job(user, SPEC)
        # the first step of the two-step cancel of earlier versions, then the process died
        (Job.update(status="running", outcome="canceled", started_at=utcnow(),
                    worker_token="canceled-while-queued")
         .where((Job.id == job.id) & (Job.status == "queued")).execute())

        assert reap_stale_jobs() == 1

        shown = _shown(hub_app, user, job.id)
        assert (shown["status"], shown["cost_credits"]) == ("canceled", 0)
        assert _closing_events(job.id)[-1] == ("done", {"status": "canceled"})
        _settled_in_full(user.id, 0)


def test_a_cancel_whose_settle_fails_leaves_the_job_queued(hub_app) -> None:
    with hub_app.app_context():
        user = _funded_user()
        job = jobs.create_job(user, SPEC)
        # the settle step cannot complete (no hold under that id): nothing may be left half done
        Job.update(hold_id=job.hold_id + 1000).where(Job.id == job.id).execute()
        with pytest.raises(HoldNotFound):
            jobs.cancel_job(job.id, user=user)
        assert _shown(hub_app, user, job.id)["status"] == "queued"

        Job.update(hold_id=job.hold_id).where(Job.id == job.id).execute()
        headers = auth_headers(user, make_settings().SECRET_KEY)
        canceled = hub_app.test_client().post(f"/api/jobs/{job.id}/cancel", headers=headers)

        assert canceled.status_code == 200, canceled.json
        assert (canceled.json["status"], canceled.json["cost_credits"]) == ("canceled", 0)
        assert UsageRecord.select().where(UsageRecord.job == job.id).count() == 1
        _settled_in_full(user.id, 0)


# --- 4. an API key's monthly counter at a month boundary ------------------------------------

def _last_month(now: datetime) -> datetime:
    return now.replace(day=1, hour=12) - timedelta(days=1)


def _counters(hub_app: Flask, user, key_id: int) -> tuple[str, int, int, int]:
    """The key's month and counters as stored, and its month's spend as its owner sees it."""
    headers = auth_headers(user, make_settings().SECRET_KEY)
    listed = hub_app.test_client().get("/api/keys", headers=headers).json["items"]
    key = ApiKey.get_by_id(key_id)
    return (key.spent_month, key.spent_month_credits, key.spent_total_credits,
            next(k for k in listed if k["id"] == key_id)["spent_month_credits"])


def test_a_job_opened_last_month_gives_its_unused_hold_back_to_last_month(hub_app) -> None:
    with hub_app.app_context():
        user = _funded_user()
        key_id = api_keys.create_key(user, "monthly", cap_monthly_credits=10**9).key.id
        earlier = jobs.create_job(user, BIG_SPEC, api_key=ApiKey.get_by_id(key_id),
                                  executor="web")
        hold = earlier.hold_credits
        # opened last month: its row and the key's counter as that open left them
        last_month = _last_month(utcnow())
        Job.update(created_at=last_month).where(Job.id == earlier.id).execute()
        ApiKey.update(spent_month=last_month.strftime("%Y-%m"), spent_month_credits=hold) \
            .where(ApiKey.id == key_id).execute()
        this_month = api_keys.current_month()
        jobs.create_job(user, BIG_SPEC, api_key=ApiKey.get_by_id(key_id), executor="web")
        assert _counters(hub_app, user, key_id) == (this_month, hold, 2 * hold, hold)

        charged = hold // 3
        assert 0 < charged < hold
        _complete(earlier.id, earlier.worker_token, outcome="succeeded", cost_credits=charged,
                  error=None, fields={"input_tokens": 5, "output_tokens": 7})

        # this month still counts the other job's whole reservation; the total counts the charge
        assert _counters(hub_app, user, key_id) == (this_month, hold, hold + charged, hold)


def test_a_month_counter_never_goes_back_to_an_earlier_month(hub_app) -> None:
    with hub_app.app_context():
        user = _funded_user()
        key_id = api_keys.create_key(user, "monthly", cap_monthly_credits=10**9).key.id
        # a request opened a moment later, already in the next month, counted there first
        next_month = (utcnow().replace(day=28) + timedelta(days=7)).strftime("%Y-%m")
        ApiKey.update(spent_month=next_month, spent_month_credits=40, spent_total_credits=40) \
            .where(ApiKey.id == key_id).execute()

        job = jobs.create_job(user, SPEC, api_key=ApiKey.get_by_id(key_id), executor="web")
        key = ApiKey.get_by_id(key_id)
        assert (key.spent_month, key.spent_month_credits) == (next_month, 40)
        assert key.spent_total_credits == 40 + job.hold_credits

        _complete(job.id, job.worker_token, outcome="succeeded", cost_credits=0, error=None,
                  fields={})
        key = ApiKey.get_by_id(key_id)
        assert (key.spent_month, key.spent_month_credits, key.spent_total_credits) == \
            (next_month, 40, 40)

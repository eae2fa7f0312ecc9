"""A job's two credit steps (`app.jobs.store`): opening it (key limits, hold, row) and
settling it (hold, terminal status, usage record, key refund), each all or nothing and once.

Run on PostgreSQL (one statement each: `job_open`, `job_settle`) and on SQLite (the same steps
in one transaction), so both paths keep the same rules.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app import create_app
from app.jobs import api as jobs
from app.jobs import store
from app.jobs.reaper import reap_stale_jobs
from app.jobs.runs.ending import complete as _complete
from app.models.api_keys import ApiKey
from app.models.base import utcnow
from app.models.jobs import Job, UsageRecord
from app.models.ledger import LedgerEntry
from app.services import api_keys, ledger
from app.services.ledger.checker import check_ledger
from tests.conftest import make_settings, sqlite_app
from tests.factories import create_user

SPEC = jobs.ChatSpec(model="local-echo", messages=[{"role": "user", "content": "hello"}],
                     max_tokens=200)


@pytest.fixture(params=["postgres", "sqlite"])
def store_app(request, app, tmp_path):
    if request.param == "postgres":
        yield app
        return
    with sqlite_app(tmp_path, BROKER_URL="") as embedded:
        yield embedded


def _funded_user(credits: int = 10_000_000):
    user = create_user()
    ledger.credit(user.id, credits, kind="promo", idempotency_key=f"funds:{user.id}")
    return user


def _web_job(user, key: ApiKey | None = None) -> Job:
    """A job opened as `/v1` opens it (already claimed: nothing is enqueued)."""
    return jobs.create_job(user, SPEC, api_key=key, executor="web")


def test_a_cap_spent_by_a_concurrent_request_is_refused_with_nothing_held(store_app) -> None:
    with store_app.app_context():
        user = _funded_user()
        hold = jobs.quote(SPEC).hold_credits
        new_key = api_keys.create_key(user, "capped", cap_total_credits=hold + hold // 2)
        stale = ApiKey.get_by_id(new_key.key.id)  # as authenticated, before the other request
        first = _web_job(user, ApiKey.get_by_id(new_key.key.id))
        before = ledger.get_balance(user.id)

        with pytest.raises(api_keys.KeyCreditCapReached) as refused:
            _web_job(user, stale)

        assert refused.value.http_status == 402
        assert f"{hold} of {hold + hold // 2} credits spent" in refused.value.message
        assert ledger.get_balance(user.id) == before  # no second hold
        assert [j.id for j in Job.select()] == [first.id]
        assert ApiKey.get_by_id(new_key.key.id).spent_total_credits == hold


def test_short_of_credits_nothing_is_held_or_recorded(store_app) -> None:
    with store_app.app_context():
        user = _funded_user(credits=1)  # a local-echo hold is a few credits
        key = api_keys.create_key(user, "k").key
        with pytest.raises(ledger.InsufficientCredits) as refused:
            _web_job(user, ApiKey.get_by_id(key.id))
        assert refused.value.details["available"] == 1
        assert Job.select().count() == 0
        assert ledger.get_balance(user.id).held == 0
        assert ApiKey.get_by_id(key.id).spent_total_credits == 0


@pytest.mark.parametrize(("limits", "status", "code"), [
    ({"cap_total_credits": 1}, 402, "key_credit_cap_reached"),
    ({"allowed_models": ["gpt-4o-mini"]}, 403, "key_model_not_allowed"),
])
def test_a_key_limit_is_named_before_the_credits_on_both_backends(store_app, limits, status,
                                                                 code) -> None:
    """`job_open` checks the key's limits before the credits (PostgreSQL); SQLite's twin
    answers the same request the same way."""
    with store_app.app_context():
        user = create_user()  # no credits at all
        key = api_keys.create_key(user, "limited", **limits)

    response = store_app.test_client().post(
        "/api/jobs", headers={"Authorization": f"Bearer {key.plaintext}"},
        json={"type": "chat", "model": "local-echo", "max_tokens": 50,
              "messages": [{"role": "user", "content": "hello"}]})

    assert (response.status_code, response.json["error"]["code"]) == (status, code)
    with store_app.app_context():
        assert Job.select().count() == 0
        assert ApiKey.get_by_id(key.key.id).spent_total_credits == 0


def test_settling_charges_once_records_usage_once_and_refunds_the_key_once(store_app) -> None:
    with store_app.app_context():
        user = _funded_user()
        key = api_keys.create_key(user, "k").key
        job = _web_job(user, ApiKey.get_by_id(key.id))
        balance_before = ledger.get_balance(user.id).balance

        closing = _complete(job.id, job.worker_token, outcome="succeeded", cost_credits=1234,
                            error=None, fields={"input_tokens": 5, "output_tokens": 7})
        again = _complete(job.id, job.worker_token, outcome="succeeded", cost_credits=1234,
                          error=None, fields={"input_tokens": 5, "output_tokens": 7})
        recorded = Job.get_by_id(job.id)

        assert [e.type for e in closing] == ["usage", "done"]
        assert closing[0].data["cost_credits"] == 1234
        assert again == []  # the job is no longer this run's to finish
        assert store.settle_job(recorded) is None  # a repeated settle moves nothing
        assert (recorded.status, recorded.cost_credits) == ("succeeded", 1234)
        assert recorded.finished_at is not None and recorded.lease_expires_at is None
        usage = UsageRecord.get(UsageRecord.job == job.id)
        assert (usage.cost_credits, usage.input_tokens, usage.output_tokens) == (1234, 5, 7)
        assert usage.api_key_id == key.id and usage.latency_ms >= 0
        assert ledger.get_balance(user.id).balance == balance_before - 1234
        assert ledger.get_balance(user.id).held == 0
        assert LedgerEntry.select().where(LedgerEntry.kind == "usage").count() == 1
        assert ApiKey.get_by_id(key.id).spent_total_credits == 1234  # the rest given back
        assert check_ledger().violations == []


def test_a_run_that_died_after_recording_its_outcome_is_settled_by_the_reaper(store_app) -> None:
    with store_app.app_context():
        user = _funded_user()
        job = _web_job(user)
        # the run recorded its outcome, then died before settling: its lease runs out
        (Job.update(outcome="succeeded", cost_credits=777, input_tokens=3, output_tokens=4,
                    lease_expires_at=utcnow() - timedelta(seconds=1))
         .where(Job.id == job.id).execute())

        assert reap_stale_jobs() == 1
        assert reap_stale_jobs() == 0

        settled = Job.get_by_id(job.id)
        assert (settled.status, settled.cost_credits) == ("succeeded", 777)
        assert UsageRecord.get(UsageRecord.job == job.id).cost_credits == 777
        assert ledger.get_balance(user.id).held == 0
        assert check_ledger().violations == []


@pytest.fixture
def broker_down(migrated_database):
    """An app whose broker refuses every message (nothing listens on its port)."""
    yield create_app(make_settings(BROKER_URL="amqp://guest:guest@127.0.0.1:1/"))
    create_app(make_settings())  # the shared broker and database back on this run's settings


def test_a_job_whose_message_cannot_be_sent_is_taken_back(broker_down) -> None:
    with broker_down.app_context():
        user = _funded_user()
        key = api_keys.create_key(user, "k")
        before = ledger.get_balance(user.id)

    response = broker_down.test_client().post(
        "/api/jobs", headers={"Authorization": f"Bearer {key.plaintext}"},
        json={"type": "chat", "model": "local-echo", "max_tokens": 50,
              "messages": [{"role": "user", "content": "hello"}]})

    assert response.status_code == 503, response.json
    assert "nothing was charged" in response.json["error"]["message"]
    with broker_down.app_context():
        assert ledger.get_balance(user.id) == before  # nothing held
        assert Job.select().count() == 0
        assert ApiKey.get_by_id(key.key.id).spent_total_credits == 0  # nor reserved on the key
        assert check_ledger().violations == []

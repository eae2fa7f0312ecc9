"""A run records prompt caching, reasoning and the reply's structured output with its outcome
(`store.finish_job`, migration 014), the same on PostgreSQL and on SQLite."""

from __future__ import annotations

import json

import pytest

from app.jobs import api as jobs
from app.jobs import store
from app.models.jobs import Job
from app.services import ledger
from tests.conftest import sqlite_app
from tests.factories import create_user

SPEC = jobs.ChatSpec(model="local-echo", messages=[{"role": "user", "content": "hello"}],
                     max_tokens=200)
OUTPUT = {"tool_calls": [{"id": "call_1", "type": "function",
                          "function": {"name": "lookup", "arguments": "{\"q\": \"hub\"}"}}],
          "reasoning": "Look it up first."}


@pytest.fixture(params=["postgres", "sqlite"])
def store_app(request, app, tmp_path):
    if request.param == "postgres":
        yield app
        return
    with sqlite_app(tmp_path, BROKER_URL="") as embedded:
        yield embedded


def _opened_job() -> Job:
    user = create_user()
    ledger.credit(user.id, 1_000_000, kind="promo", idempotency_key=f"funds:{user.id}")
    return jobs.create_job(user, SPEC, api_key=None, executor="web")


def test_finish_records_cache_reasoning_and_output_json(store_app) -> None:
    with store_app.app_context():
        job = _opened_job()

        ended, charged = store.finish_job(
            job.id, job.worker_token, outcome="succeeded", cost_credits=3, error=None,
            fields={"input_tokens": 120, "output_tokens": 40, "cached_input_tokens": 100,
                    "cache_write_tokens": 15, "reasoning_tokens": 25,
                    "output_json": json.dumps(OUTPUT)})

        stored = Job.get_by_id(job.id)
        for row in (ended, stored):
            assert (row.input_tokens, row.output_tokens, row.cached_input_tokens,
                    row.cache_write_tokens, row.reasoning_tokens) == (120, 40, 100, 15, 25)
            assert json.loads(row.output_json) == OUTPUT
            assert row.status == "succeeded"
        assert charged == 3


def test_a_finish_without_them_leaves_them_empty(store_app) -> None:
    with store_app.app_context():
        job = _opened_job()

        ended, _ = store.finish_job(job.id, job.worker_token, outcome="succeeded",
                                    cost_credits=1, error=None,
                                    fields={"input_tokens": 5, "output_tokens": 7})

        assert (ended.cached_input_tokens, ended.cache_write_tokens, ended.reasoning_tokens,
                ended.output_json) == (None, None, None, None)
        assert Job.get_by_id(job.id).output_tokens == 7

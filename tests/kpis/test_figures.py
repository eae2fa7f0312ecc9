"""The back office's and the dashboard's figures (`app.services.kpis`) against the tables they
summarise, on PostgreSQL and SQLite: real chat and embedding jobs, run and settled through
`/v1` (the web executor: job_open, job_finish, settle), then the figures are compared with the
ledger and the jobs; a retention pass changes none of them."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from app import create_app
from app.extensions import db
from app.models.base import utcnow
from app.models.jobs import Job, UsageDaily, UsageRecord
from app.models.ledger import LedgerEntry
from app.models.payments import Payment
from app.services import api_keys, ledger
from app.services.kpis import overview, period
from app.services.kpis.account import account_summary, account_version
from app.services.kpis.usage import active_users, usage_totals
from app.services.retention import apply_retention, cutoff_for
from tests.conftest import sqlite_app
from tests.factories import create_job, create_user

MODELS = (("gpt-x", "openai"), ("claude-y", "anthropic"), ("veo-z", "google"), ("local", None))


@pytest.fixture(params=["postgres", "sqlite"])
def hub(request, tmp_path) -> Iterator:
    """An app context for calling services, on PostgreSQL or SQLite."""
    if request.param == "postgres":
        with request.getfixturevalue("app").app_context() as context:
            yield context.app
    else:
        with sqlite_app(tmp_path) as app, app.app_context():
            yield app
    if not db.is_closed():
        db.close()


def _run_jobs(hub, user, count: int, tag: str) -> None:
    """`count` chats and one embedding, each run and settled by the web process (an app of its
    own: requests of the services' app would share its `g`, and the first caller with it)."""
    key = api_keys.create_key(user, tag).plaintext
    client = create_app(hub.extensions["hub"].settings).test_client()
    headers = {"Authorization": f"Bearer {key}"}
    for n in range(count):
        reply = client.post("/v1/chat/completions", headers=headers, json={
            "model": "local-echo", "max_tokens": 30 + n,
            "messages": [{"role": "user", "content": f"hello {tag} {n}"}]})
        assert reply.status_code == 200, reply.json
    embedded = client.post("/v1/embeddings", headers=headers,
                           json={"model": "local-embedding", "input": ["a", "b c"]})
    assert embedded.status_code == 200, embedded.json


def _ledger_sum(kind: str, user_id: int | None = None) -> int:
    query = LedgerEntry.select().where(LedgerEntry.kind == kind)
    if user_id is not None:
        query = query.where(LedgerEntry.account == user_id)
    return sum(entry.amount_credits for entry in query)


def test_figures_match_the_ledger_and_the_jobs(hub) -> None:
    buyers = [create_user() for _ in range(3)]
    idle = create_user()
    for n, user in enumerate(buyers):
        ledger.credit(user.id, 2_000_000 + n, kind="purchase", idempotency_key=f"buy:{n}")
        Payment.create(user=user, package_slug="starter", package_name="Starter",
                       amount_cents=500 + n, currency="usd", amount_credits=2_000_000 + n,
                       status="paid", stripe_session_id=f"cs_{n}", credited_at=utcnow())
    ledger.credit(idle.id, 777, kind="promo", idempotency_key="promo:idle")
    for n, user in enumerate(buyers[:2]):
        _run_jobs(hub, user, count=2 + n, tag=f"u{n}")
    queued = create_job(buyers[2], status="queued")

    figures = overview(7)

    jobs = list(Job.select().where(Job.status == "succeeded"))
    charged = -_ledger_sum("usage")
    assert charged == sum(job.cost_credits for job in jobs) > 0
    assert figures.credits_spent == charged
    assert figures.sales.credits_sold == _ledger_sum("purchase") == 6_000_003
    assert figures.sales.credits_by_kind == {"purchase": 6_000_003, "promo": 777}
    assert [(r.currency, r.amount_cents, r.payments) for r in figures.sales.revenue] == \
        [("usd", 1_503, 3)]
    per_model: dict[str, int] = defaultdict(int)
    for job in jobs:
        per_model[job.model] += job.cost_credits
    assert {row.key: row.cost_credits for row in figures.by_model} == per_model
    assert {row.key: row.requests for row in figures.by_model} == \
        {"local-echo": 5, "local-embedding": 2}
    assert [(row.key, row.cost_credits) for row in figures.by_provider] == [("local", charged)]
    assert figures.active_users == 2
    assert figures.jobs.by_status == {"queued": 1, "running": 0, "succeeded": 7, "failed": 0,
                                      "canceled": 0}
    assert [(p.provider, p.succeeded, p.failed, p.error_rate) for p in figures.jobs.by_provider] \
        == [("local", 7, 0, 0.0)]  # the queued job has no provider yet, and no outcome
    assert sum(value for _, value in figures.spent_per_bucket) == charged
    assert [v for _, v in figures.sales.sold_per_bucket][-1] == 6_000_003
    assert len(figures.spent_per_bucket) == 7 and len(figures.sales.sold_per_bucket) == 7

    for user in buyers:
        summary = account_summary(user.id, 7)
        spent = -_ledger_sum("usage", user.id)
        assert summary.spent_credits == spent == sum(row.cost_credits for row in summary.by_model)
        assert summary.balance == ledger.get_balance(user.id)
        assert [day.usage_credits for day in summary.per_day][-1] == spent
        mine = Job.select().where(Job.user == user.id).order_by(Job.created_at.desc())
        assert [line.id for line in summary.recent_jobs] == [job.id for job in mine][:5]
    first = account_summary(buyers[0].id, 30)
    assert len(first.per_day) == 30
    assert first.top_models[0].key == "local-echo" and first.top_models[0].requests == 2
    assert first.top_models[0].input_tokens > 0 and first.top_models[0].output_tokens > 0
    assert account_summary(buyers[2].id, 7).recent_jobs[0].id == queued.id


def test_the_account_version_changes_with_what_the_dashboard_shows(hub) -> None:
    user = create_user()
    versions = [account_version(user.id, 7)]
    assert account_version(user.id, 7) == versions[0]  # nothing changed
    assert account_version(user.id, 30) != versions[0]  # another period
    ledger.credit(user.id, 10_000, kind="promo", idempotency_key="v:1")
    versions.append(account_version(user.id, 7))
    job = create_job(user, status="queued")
    versions.append(account_version(user.id, 7))
    Job.update(status="running").where(Job.id == job.id).execute()
    versions.append(account_version(user.id, 7))
    tomorrow = utcnow() + timedelta(days=1)
    versions.append(account_version(user.id, 7, now=tomorrow))
    assert len(set(versions)) == len(versions)


def _history(now: datetime, rng: random.Random) -> list[int]:
    """Settled jobs with usage records over the last 12 days, a few users and models."""
    users = [create_user().id for _ in range(4)]
    for n in range(120):
        user_id, (model, provider) = rng.choice(users), rng.choice(MODELS)
        at = now - timedelta(days=rng.uniform(0, 12))
        job = create_job(user_id, status="succeeded", model=model, provider=provider,
                         created_at=at, finished_at=at, cost_credits=rng.randint(0, 900))
        UsageRecord.create(job=job, user=user_id, model=model, provider=provider,
                           status="succeeded", input_tokens=rng.randint(0, 5_000),
                           output_tokens=rng.randint(0, 900), video_seconds=rng.choice((0, 8)),
                           cost_credits=job.cost_credits, created_at=at)
    return users


def _usage_seen(users: list[int], now: datetime) -> dict:
    seen = {}
    for days in (1, 7, 30):
        span = period(days, now)
        seen[days] = (usage_totals(span), active_users(span),
                      [usage_totals(span, user_id=u) for u in users])
    return seen


@pytest.mark.parametrize("seed", [1, 2])
def test_a_retention_pass_changes_no_figure(hub, seed) -> None:
    now = utcnow()
    users = _history(now, random.Random(seed))
    before = _usage_seen(users, now)
    assert before[30][1] == len({r.user_id for r in UsageRecord.select()})
    assert before[30][0].cost_credits == sum(r.cost_credits for r in UsageRecord.select())

    report = apply_retention(now, 3)

    assert report.usage_records_rolled_up > 0 and UsageDaily.select().exists()
    assert not UsageRecord.select().where(UsageRecord.created_at < cutoff_for(now, 3)).exists()
    assert _usage_seen(users, now) == before


def test_periods_and_their_buckets() -> None:
    now = datetime(2026, 12, 4, 15, 42, 7)
    day = period(1, now)
    assert day.bucket == "hour" and len(day.starts) == 24
    assert day.since == datetime(2026, 12, 3, 16, 0) and day.starts[-1] == datetime(2026, 12, 4, 15)
    assert day.label(day.starts[-1]) == "2026-12-04 15:00"
    assert day.first_day == datetime(2026, 12, 4).date()
    week = period(7, now)
    assert week.since == datetime(2026, 11, 28) and week.first_day == week.since.date()
    assert [week.label(s) for s in week.starts][::6] == ["2026-11-28", "2026-12-04"]
    assert len(period(30, now).starts) == 30
    with pytest.raises(ValueError):
        period(2, now)


def test_failed_and_canceled_jobs_make_each_providers_error_rate(hub) -> None:
    user = create_user()
    outcomes = {("openai", "succeeded"): 3, ("openai", "failed"): 1, ("openai", "canceled"): 2,
                ("anthropic", "failed"): 2, (None, "failed"): 1, ("local", "running"): 1}
    for (provider, status), count in outcomes.items():
        for _ in range(count):
            create_job(user, status=status, provider=provider)
    create_job(user, status="failed", provider="openai",
               created_at=utcnow() - timedelta(days=8))  # before the 7 days

    counts = overview(7).jobs

    rates = {p.provider: (p.succeeded, p.failed, p.canceled, p.error_rate)
             for p in counts.by_provider}
    assert rates == {"openai": (3, 1, 2, 0.25), "anthropic": (0, 2, 0, 1.0),
                     "": (0, 1, 0, 1.0)}  # local: one running job, nothing ended
    create_job(user, status="canceled", provider="local")
    assert overview(7).jobs.by_provider[-1].provider == "local"
    assert overview(7).jobs.by_provider[-1].error_rate is None
    assert [p.provider for p in counts.by_provider][:2] == ["openai", "anthropic"]
    assert counts.by_status == Counter({"succeeded": 3, "failed": 4, "canceled": 2,
                                        "running": 1, "queued": 0})
    assert counts.error_rate == 4 / 7 and counts.total == 10

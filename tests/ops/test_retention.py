"""The retention pass (`app.services.retention`) on PostgreSQL and SQLite: generated histories
of settled and active jobs; after a pass the daily rows hold exactly the sums of the records
they replace, the usage totals operators and users see are unchanged, the ledger is untouched
and clean, active jobs are as they were, and a second pass (or two at once) changes nothing."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from peewee import fn

from app.extensions import db
from app.models.base import utcnow
from app.models.jobs import ACTIVE_STATUSES, Job, UsageDaily, UsageRecord
from app.models.ledger import CreditHold, LedgerEntry
from app.services import ledger
from app.services.ledger.checker import check_ledger
from app.services.ledger.history import usage_per_day
from app.services.retention import STUB_REQUEST_JSON, apply_retention, cutoff_for
from app.services.usage_report import usage_summary
from tests.conftest import sqlite_app
from tests.factories import create_job, create_user

DAYS = 60
MODELS = (("gpt-x", "openai"), ("claude-y", "anthropic"), ("veo-z", "google"), ("local", None))
BULKY = '{"messages": [{"role": "user", "content": "' + "x" * 2_000 + '"}]}'


@pytest.fixture(params=["postgres", "sqlite"])
def backend(request, tmp_path) -> Iterator[str]:
    if request.param == "postgres":
        app = request.getfixturevalue("app")
        with app.app_context(), db.connection_context():
            yield "postgres"
    else:
        with sqlite_app(tmp_path) as app, app.app_context(), db.connection_context():
            yield "sqlite"


def _history(seed: int, now: datetime) -> dict[str, list]:
    """Users with credits, settled jobs (each with its usage record and its ledger debit) spread
    over twice the retention window, some right at the cut-off, and old active jobs."""
    rng = random.Random(seed)
    cutoff = cutoff_for(now, DAYS)
    active = []
    for u in range(3):
        user = create_user()
        ledger.credit(user.id, 10**9, kind="purchase", idempotency_key=f"p:{seed}:{u}")
        for n in range(rng.randint(5, 40)):
            at = rng.choice([cutoff - timedelta(microseconds=1), cutoff,
                             now - timedelta(days=rng.uniform(0, 2 * DAYS))])
            _settled_job(rng, user.id, at, f"{seed}:{u}:{n}")
        for status in ACTIVE_STATUSES:
            active.append(create_job(user, status=status, request_json=BULKY,
                                     created_at=now - timedelta(days=3 * DAYS)).id)
    return {"active": active}


def _settled_job(rng: random.Random, user_id: int, at: datetime, tag: str) -> None:
    model, provider = rng.choice(MODELS)
    cost = rng.randint(0, 5_000)
    job = create_job(user_id, status=rng.choice(("succeeded", "failed", "canceled")),
                     model=model, provider=provider, request_json=BULKY, result_text="answer",
                     output_json='{"tool_calls": []}', created_at=at, finished_at=at,
                     cost_credits=cost)
    ledger.debit(user_id, cost + 1, kind="usage", idempotency_key=f"u:{tag}", reference=job.id)
    UsageRecord.create(job=job, user=user_id, model=model, provider=provider, status=job.status,
                       input_tokens=rng.randint(0, 10**6), output_tokens=rng.randint(0, 10**5),
                       video_seconds=rng.choice((0, 0, 8)), cost_credits=cost,
                       created_at=at + timedelta(seconds=rng.choice((0, 0, 30))))


def _old_record_sums(cutoff: datetime) -> dict[tuple, tuple]:
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * 5)
    for r in UsageRecord.select().where(UsageRecord.created_at < cutoff):
        total = sums[(r.user_id, r.created_at.date(), r.model, r.provider or "")]
        for i, value in enumerate((1, r.input_tokens, r.output_tokens, r.video_seconds,
                                   r.cost_credits)):
            total[i] += value
    return {key: tuple(values) for key, values in sums.items()}


def _daily_rows() -> dict[tuple, tuple]:
    return {(d.user_id, d.day, d.model, d.provider):
            (d.jobs, d.input_tokens, d.output_tokens, d.video_seconds, d.cost_credits)
            for d in UsageDaily.select()}


def _seen(user_ids: list[int]) -> dict[str, object]:
    """What operators and users are shown: the back office's usage summary over the whole
    history and over 30 days, each user's balance and 30-day usage per day (from the ledger)."""
    return {"all": usage_summary(days=4 * DAYS), "30": usage_summary(),
            "balances": [ledger.get_balance(u) for u in user_ids],
            "usage per day": [usage_per_day(u, days=30) for u in user_ids]}


def _untouchables() -> dict[str, object]:
    return {"entries": list(LedgerEntry.select().order_by(LedgerEntry.id).dicts()),
            "holds": list(CreditHold.select().order_by(CreditHold.id).dicts()),
            "active jobs": list(Job.select().where(Job.status.in_(ACTIVE_STATUSES))
                                .order_by(Job.id).dicts())}


def _users() -> list[int]:
    return sorted({job.user_id for job in Job.select(Job.user)})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_pass_rolls_up_old_usage_without_changing_what_anyone_sees(backend, seed) -> None:
    now = utcnow()
    cutoff = cutoff_for(now, DAYS)
    _history(seed, now)
    expected_daily = _old_record_sums(cutoff)
    old_records = sum(values[0] for values in expected_daily.values())
    recent = UsageRecord.select().where(UsageRecord.created_at >= cutoff).count()
    seen, untouched = _seen(_users()), _untouchables()

    report = apply_retention(now, DAYS, batch_size=7)

    assert report.usage_records_rolled_up == old_records
    assert _daily_rows() == expected_daily
    assert UsageRecord.select().count() == recent
    assert not UsageRecord.select().where(UsageRecord.created_at < cutoff).exists()
    assert _seen(_users()) == seen
    assert _untouchables() == untouched
    assert check_ledger().ok
    # finished jobs before the cut-off are stripped once their usage is rolled up; a job whose
    # record was written after the cut-off keeps its details until that record goes
    recorded = {r.job_id for r in UsageRecord.select(UsageRecord.job)}
    old_finished = Job.select().where(Job.created_at < cutoff, Job.status.not_in(ACTIVE_STATUSES))
    stripped = [j for j in old_finished if j.id not in recorded]
    assert report.jobs_stripped == len(stripped) > 0
    assert {(j.request_json, j.result_text, j.output_json) for j in stripped} == \
        {(STUB_REQUEST_JSON, None, None)}
    kept = [j for j in Job.select().where(Job.status.not_in(ACTIVE_STATUSES))
            if j.created_at >= cutoff or j.id in recorded]
    assert kept and all(j.request_json == BULKY and j.result_text == "answer" for j in kept)


def test_a_second_pass_changes_nothing_and_late_records_are_added_once(backend) -> None:
    now = utcnow()
    _history(4, now)
    apply_retention(now, DAYS, batch_size=5)
    daily, jobs = _daily_rows(), list(Job.select().order_by(Job.id).dicts())

    again = apply_retention(now, DAYS, batch_size=5)

    assert (again.usage_records_rolled_up, again.daily_rows_upserted, again.jobs_stripped) == \
        (0, 0, 0)
    assert _daily_rows() == daily
    assert list(Job.select().order_by(Job.id).dicts()) == jobs

    # a record written late for a day already rolled up is added to that day's row, once
    user = _users()[0]
    key = next(k for k in daily if k[0] == user)
    at = datetime.combine(key[1], datetime.min.time()) + timedelta(hours=1)
    late = create_job(user, status="succeeded", model=key[2], provider=key[3] or None,
                      created_at=at)
    UsageRecord.create(job=late, user=user, model=key[2], provider=key[3] or None,
                       status="succeeded", input_tokens=3, output_tokens=4, video_seconds=0,
                       cost_credits=5, created_at=at)
    apply_retention(now, DAYS)
    apply_retention(now, DAYS)
    jobs_n, tokens_in, tokens_out, seconds, cost = daily[key]
    assert _daily_rows()[key] == (jobs_n + 1, tokens_in + 3, tokens_out + 4, seconds, cost + 5)


def _daily_rows_read() -> int:
    """usage_daily rows this transaction has read so far (sequential scans and index fetches)."""
    return db.execute_sql("SELECT seq_tup_read + COALESCE(idx_tup_fetch, 0) FROM "
                          "pg_stat_xact_user_tables WHERE relname = 'usage_daily'").fetchone()[0]


def test_after_a_pass_the_30_day_summary_reads_no_daily_row(app) -> None:
    """The daily rows all lie before the cut-off, so the 30-day summary (the back office's page)
    must not read them: right after a pass, before anything analysed the new rows, a range read
    of `usage_daily` was planned as a scan of the whole table, on every page view."""
    now = utcnow()
    with app.app_context(), db.connection_context():
        _history(7, now)
        apply_retention(now, DAYS)
        daily = UsageDaily.select().count()
        with db.atomic():
            before = _daily_rows_read()
            summary = usage_summary()
            read = _daily_rows_read() - before

        assert daily > 5 and summary.total.requests > 0
        assert read <= 1  # at most the newest day, to see that the window holds none
        # a window reaching back before the cut-off still adds the daily rows
        assert usage_summary(days=4 * DAYS).total.requests == \
            UsageRecord.select().count() + UsageDaily.select(fn.SUM(UsageDaily.jobs)).scalar()


def test_zero_days_keeps_everything(backend) -> None:
    now = utcnow()
    _history(5, now)
    records, jobs = UsageRecord.select().count(), list(Job.select().order_by(Job.id).dicts())

    report = apply_retention(now, 0)

    assert report.cutoff is None
    assert UsageRecord.select().count() == records
    assert list(Job.select().order_by(Job.id).dicts()) == jobs
    assert not UsageDaily.select().exists()


def test_passes_at_once_count_each_record_once(app) -> None:
    """On PostgreSQL two passes running together (two scheduler runs overlapping) each take
    what the other did not: the daily rows still equal the records' sums."""
    now = utcnow()
    with app.app_context(), db.connection_context():
        _history(6, now)
        expected = _old_record_sums(cutoff_for(now, DAYS))
        seen = _seen(_users())
    start = threading.Barrier(2)
    reports, errors = [], []

    def run() -> None:
        try:
            with app.app_context(), db.connection_context():
                start.wait()
                reports.append(apply_retention(now, DAYS, batch_size=3))
        except Exception as exc:  # noqa: BLE001 -- reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(r.usage_records_rolled_up for r in reports) == \
        sum(values[0] for values in expected.values())
    with app.app_context(), db.connection_context():
        assert _daily_rows() == expected
        assert _seen(_users()) == seen
        assert check_ledger().ok


def test_the_scheduler_runs_it_daily() -> None:
    import app.tasks  # noqa: F401 -- declares the actors
    from app.scheduler import PERIODIC_JOBS

    assert PERIODIC_JOBS["retention.apply_retention_daily"] == 86_400


def test_retention_days_is_zero_or_longer_than_the_usage_views() -> None:
    from app.config import ConfigError
    from tests.conftest import make_settings

    assert make_settings().HUB_RETENTION_DAYS == 400
    assert make_settings(HUB_RETENTION_DAYS=0).HUB_RETENTION_DAYS == 0
    with pytest.raises(ConfigError, match="HUB_RETENTION_DAYS"):
        make_settings(HUB_RETENTION_DAYS=10)

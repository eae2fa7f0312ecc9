"""Jobs and usage in the back office: staff read and filter; admins cancel through the service."""

from __future__ import annotations

from datetime import timedelta

from app.jobs.api import ChatSpec, create_job
from app.models.audit import AuditLogEntry
from app.models.base import utcnow
from app.models.jobs import Job, UsageRecord
from app.services import ledger
from tests.backoffice.conftest import assert_ledger_sound
from tests.factories import create_user

MESSAGES = [{"role": "user", "content": "hello"}]


def _queued_job(email: str) -> Job:
    user = create_user(email=email)
    ledger.credit(user.id, 1_000_000, kind="purchase", idempotency_key=f"seed:{user.id}")
    return create_job(user, ChatSpec(model="local-echo", messages=MESSAGES, max_tokens=50))


def test_staff_list_filter_and_read_jobs(support, services) -> None:
    job = _queued_job("carol@example.com")
    other = _queued_job("dave@example.com")
    Job.update(status="failed", error_code="upstream_error", error_message="the provider broke",
               cost_credits=0).where(Job.id == other.id).execute()

    listing = support.get("/admin/jobs/")
    queued = support.get("/admin/jobs/?flt0_0=queued")
    by_user = support.get("/admin/jobs/?flt0_1=dave")
    by_model = support.get("/admin/jobs/?flt0_2=gpt-4o")
    details = support.get(f"/admin/jobs/details/?id={other.id}")

    assert listing.status_code == 200
    assert job.id.encode() in listing.data and other.id.encode() in listing.data
    assert job.id.encode() in queued.data and other.id.encode() not in queued.data
    assert other.id.encode() in by_user.data and job.id.encode() not in by_user.data
    assert job.id.encode() not in by_model.data
    assert details.status_code == 200
    for text in (b"the provider broke", b"local-echo", b"dave@example.com", b"Hold Credits"):
        assert text in details.data
    assert b"Cancel job" not in details.data


def test_admin_cancels_a_queued_job_and_its_hold_is_released(admin, services) -> None:
    job = _queued_job("erin@example.com")
    assert ledger.get_balance(job.user_id).held == job.hold_credits > 0
    details = admin.get(f"/admin/jobs/details/?id={job.id}")
    assert b"Cancel job" in details.data

    response = admin.post("/admin/jobs/action/", {"action": "cancel", "rowid": job.id})
    again = admin.post("/admin/jobs/action/", {"action": "cancel", "rowid": job.id})

    assert response.status_code == again.status_code == 302
    assert Job.get_by_id(job.id).status == "canceled"
    assert ledger.get_balance(job.user_id).held == 0
    assert ledger.get_balance(job.user_id).balance == 1_000_000
    assert b"has already canceled" in admin.get("/admin/jobs/").data
    entry = AuditLogEntry.get()  # one entry: the refused second cancel audits nothing
    assert (entry.action, entry.target_id, entry.actor_id) == ("job.cancel", job.id,
                                                                admin.user.id)
    assert_ledger_sound()


def test_support_cannot_cancel(support, services) -> None:
    job = _queued_job("frank@example.com")
    refused = support.post("/admin/jobs/action/", {"action": "cancel", "rowid": job.id})
    assert refused.status_code == 403
    assert Job.get_by_id(job.id).status == "queued"


def _usage(job: Job, model: str, days_ago: int, tokens: tuple[int, int], cost: int) -> None:
    UsageRecord.create(job=job.id, user=job.user_id, model=model, provider="local",
                       status="succeeded", input_tokens=tokens[0], output_tokens=tokens[1],
                       cost_credits=cost, created_at=utcnow() - timedelta(days=days_ago))


def test_usage_records_and_the_30_day_summary(support, services) -> None:
    jobs = [_queued_job(f"u{i}@example.com") for i in range(4)]
    _usage(jobs[0], "local-echo", 0, (10, 20), 70)
    _usage(jobs[1], "local-echo", 1, (1, 2), 5)
    _usage(jobs[2], "gpt-4o", 1, (100, 200), 4_000)
    _usage(jobs[3], "gpt-4o", 45, (9_999, 9_999), 999_999)  # older than 30 days

    records = support.get("/admin/usage/?flt0_1=gpt-4o")
    summary = support.get("/admin/usage-summary/")

    assert records.status_code == 200
    assert jobs[2].id.encode() in records.data and jobs[0].id.encode() not in records.data
    assert summary.status_code == 200
    html = summary.data.decode()
    by_model = html[html.index('id="by-model"'):html.index('id="by-day"')]
    by_day = html[html.index('id="by-day"'):]
    assert "gpt-4o</td><td class=\"text-right\">1</td>" in by_model
    assert "local-echo</td><td class=\"text-right\">2</td>" in by_model
    assert "4,075" in by_model and "999,999" not in html  # totals of the last 30 days only
    today, yesterday = utcnow().date().isoformat(), (utcnow() - timedelta(days=1)).date()
    assert f"{today}</td><td class=\"text-right\">1</td>" in by_day
    assert f"{yesterday.isoformat()}</td><td class=\"text-right\">2</td>" in by_day

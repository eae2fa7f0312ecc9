"""The periodic jobs page: staff see when each job last ran and which ones are overdue."""

from __future__ import annotations

import re
from datetime import timedelta

from app.models.base import utcnow
from app.services.periodic_jobs import record_enqueued, record_run

REAPER = "generation.reap_stale_jobs"  # every 15 s
HOLDS = "ledger.release_expired_holds"  # every 60 s


def _status(html: bytes, job: str) -> str:
    row = re.search(rb'data-job="' + re.escape(job.encode()) + rb'".*?<td class="status">(\w+)<',
                    html, re.S)
    assert row, f"no row for {job}"
    return row.group(1).decode()


def test_staff_see_which_periodic_jobs_are_overdue(support, services) -> None:
    record_enqueued(REAPER, at=utcnow() - timedelta(seconds=40))
    record_run(REAPER, at=utcnow() - timedelta(seconds=40))
    record_run(HOLDS)

    page = support.get("/admin/periodic-jobs/")

    assert page.status_code == 200
    assert _status(page.data, REAPER) == "overdue"
    assert _status(page.data, HOLDS) == "ok"
    assert _status(page.data, "payments.reconcile_payments") == "waiting"  # never ran, not late
    assert b"Periodic jobs" in support.get("/admin/").data  # in the menu


def test_the_page_is_for_staff_only(signed_in, app) -> None:
    assert app.test_client().get("/admin/periodic-jobs/").headers["Location"].startswith("/login")
    assert signed_in("user").get("/admin/periodic-jobs/").status_code == 403

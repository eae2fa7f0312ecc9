"""/dashboard in a real browser at 360, 390 and 1280 px: the balance, a chat job run by the
workers while the page is open (the balance drops by its charge, the charts and the recent jobs
follow, with no reload), the 7- and 30-day charts, and nothing wider than the screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.models.jobs import Job
from tests.pages.conftest import Session

WIDTHS = {"desktop": 1280, "phone": 390, "small": 360}
FUNDS = 5_000_000


@pytest.fixture(params=list(WIDTHS))
def dashboard(request, browser, live_server, user):
    tag = request.param
    browsing = Session(browser, live_server, WIDTHS[tag], tag)
    browsing.sign_in(user.email)
    yield browsing
    browsing.context.close()


def _start_chat(session: Session) -> str:
    """A chat job sent as the signed-in user (session cookie and CSRF token), as /chat does."""
    page = session.page
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    response = page.request.post(session.base + "/api/jobs", headers={"X-CSRFToken": token},
                                 data={"type": "chat", "model": "local-echo", "max_tokens": 40,
                                       "messages": [{"role": "user", "content": "Count me"}]})
    assert response.status == 202, response.text()
    return response.json()["id"]


def test_the_dashboard_follows_a_job_to_its_charge_without_a_reload(dashboard) -> None:
    page = dashboard.page
    expect(page.locator("#balance-available")).to_have_text(f"{FUNDS:,} credits")
    expect(page.locator("#balance-balance")).to_have_text(f"{FUNDS:,}")
    expect(page.locator("#balance-held")).to_have_text("0")
    expect(page.locator("#spend-per-day rect.hub-chart-bar")).to_have_count(7)
    expect(page.locator("#spend-per-model .hub-chart-row")).to_have_count(0)
    expect(page.locator("#recent-jobs li")).to_have_text(["No jobs yet. Start a chat or a video."])
    dashboard.assert_fits()
    dashboard.shot("dashboard-empty")
    page.evaluate("window.stillTheSamePage = true")

    job_id = _start_chat(dashboard)
    newest = page.locator("#recent-jobs li").first
    expect(newest.locator("a")).to_have_attribute("href", f"/chat?job={job_id}", timeout=20_000)
    expect(newest.locator(".badge")).to_have_text("succeeded", timeout=30_000)

    job = Job.get_by_id(job_id)
    assert job.status == "succeeded" and job.cost_credits > 0
    expect(page.locator("#balance-balance")).to_have_text(f"{FUNDS - job.cost_credits:,}")
    expect(page.locator("#balance-held")).to_have_text("0")
    expect(page.locator("#balance-available")).to_have_text(f"{FUNDS - job.cost_credits:,} credits")
    expect(newest.locator(".ms-auto")).to_have_text(
        f"{job.cost_credits:,} credit{'' if job.cost_credits == 1 else 's'}")
    expect(page.locator("#spent-total")).to_contain_text(f"{job.cost_credits:,} credit")
    rows = page.locator("#spend-per-model .hub-chart-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-label", "local-echo")
    expect(rows.first).to_have_attribute("data-value", str(job.cost_credits))
    expect(page.locator("#spend-per-day rect.hub-chart-bar").last).to_have_attribute(
        "data-value", str(job.cost_credits))
    expect(page.locator("#top-models tbody tr")).to_have_count(1)
    expect(page.locator("#top-models tbody tr td").first).to_have_text("local-echo")
    assert page.evaluate("window.stillTheSamePage") is True  # updated in place
    dashboard.assert_fits()
    dashboard.shot("dashboard-after-job")

    page.click("a[data-days='30']")
    expect(page.locator("#spend-per-day rect.hub-chart-bar")).to_have_count(30)
    expect(page.locator("a[data-days='30']")).to_have_attribute("aria-current", "true")
    assert page.url.endswith("/dashboard?days=30")
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.locator("#spend-per-day-title")).to_have_text("Credits spent per day")
    assert re.search(r"^30 points from .* in total", page.locator("#spend-per-day-desc")
                     .text_content())
    dashboard.assert_fits()
    dashboard.shot("dashboard-30-days")
    assert dashboard.errors == []

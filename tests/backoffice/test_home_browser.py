"""The back-office home in a real browser (Playwright + Debian chromium) at 1280, 390 and 360
px: an admin sees the figures and charts, nothing is wider than the screen, and each figure's
link opens the view behind it; support sees the same page. Screenshots in /tmp/hub-kpis-shots."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.services import api_keys, ledger
from tests.accounts.conftest import PASSWORD
from tests.accounts.helpers import user_with_password
from tests.accounts.test_browser import Session, live_server  # noqa: F401
from tests.factories import create_job, create_user

WIDTHS = {"desktop": 1280, "phone": 390, "small": 360}
SHOTS = Path("/tmp/hub-kpis-shots")
# tile → (the path it opens, what that page is about)
TILES = {"kpi-revenue": ("/admin/payments/", "Payments"),
         "kpi-credits-sold": ("/admin/ledger/", "Ledger entries"),
         "kpi-credits-spent": ("/admin/usage/", "Usage records"),
         "kpi-active-users": ("/admin/users/", "Users"),
         "kpi-jobs": ("/admin/jobs/", "Jobs"),
         "kpi-error-rate": ("/admin/jobs/", "Jobs"),
         "kpi-queue": ("/admin/jobs/", "Jobs"),
         "kpi-reconciliation": ("/admin/reconciliation/", "Reconciliation")}


def _business(app) -> None:
    buyer = create_user(email="buyer@example.com")
    ledger.credit(buyer.id, 2_100_000, kind="purchase", idempotency_key="buy")
    key = api_keys.create_key(buyer, "k").plaintext
    client = app.test_client()
    for model, path, body in (("local-echo", "/v1/chat/completions",
                               {"max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}),
                              ("local-embedding", "/v1/embeddings", {"input": "x"})):
        response = client.post(path, headers={"Authorization": f"Bearer {key}"},
                               json={"model": model, **body})
        assert response.status_code == 200
    create_job(buyer, status="failed", provider="openai")


def _signed_in(browser, base: str, role: str, tag: str) -> Session:
    SHOTS.mkdir(exist_ok=True)
    staff = user_with_password(role=role)
    session = Session(browser, base, WIDTHS[tag], SHOTS, tag)
    page = session.go("/admin/")
    page.fill("#email", staff.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/admin/")
    return session


@pytest.mark.parametrize("tag", list(WIDTHS))
def test_an_admin_sees_the_business_and_follows_each_figure(browser, live_server, app,  # noqa: F811
                                                            services, tag) -> None:
    _business(app)
    session = _signed_in(browser, live_server, "admin", tag)
    page = session.page
    expect(page.locator("#kpi-credits-sold .kpi-value")).to_have_text("2,100,000")
    expect(page.locator("#kpi-active-users .kpi-value")).to_have_text("1")
    expect(page.locator("#kpi-error-rate .kpi-value")).to_have_text("33.3 %")
    expect(page.locator("#credits-spent rect.hub-chart-bar")).to_have_count(7)
    expect(page.locator("#spend-by-model .hub-chart-row")).to_have_count(2)
    expect(page.locator("#jobs-by-status .hub-chart-row")).to_have_count(5)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[tag]
    session.shot("backoffice-home")

    page.click("#period a:has-text('24 hours')")
    page.wait_for_url("**/admin/?days=1")
    expect(page.locator("#credits-spent rect.hub-chart-bar")).to_have_count(24)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[tag]
    session.shot("backoffice-home-24h")

    for tile, (path, title) in TILES.items():
        page = session.go("/admin/?days=30")
        page.click(f"#{tile} a.kpi-link")
        page.wait_for_url(f"**{path}*")
        assert title in page.title(), (tile, page.title())
        expect(page.locator("table.model-list")).to_be_visible()
    assert session.errors == []


def test_support_sees_the_same_home_with_nothing_to_change(browser, live_server, app,  # noqa: F811
                                                           services) -> None:
    _business(app)
    session = _signed_in(browser, live_server, "support", "phone")
    page = session.page
    expect(page.locator("#kpi-credits-sold .kpi-value")).to_have_text("2,100,000")
    expect(page.locator("form[method=post], form[method=POST]")).to_have_count(0)
    session.shot("backoffice-home-support")
    assert session.errors == []

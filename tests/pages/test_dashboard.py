"""/dashboard and /dashboard/panels without a browser: the figures server-rendered into the
page, the period switch, and the conditional fragment the page polls (304 until the account
changes)."""

from __future__ import annotations

import re

import pytest

from app.services import ledger
from tests.accounts.helpers import user_with_password
from tests.accounts.test_pages import sign_in
from tests.factories import create_job


@pytest.fixture
def settings(migrated_database):  # these tests need no workers or browser
    from tests.conftest import make_settings

    return make_settings()


@pytest.fixture
def robin(app, client):
    user = user_with_password(name="Robin")
    with app.app_context():
        ledger.credit(user.id, 1_234_567, kind="promo", idempotency_key="dash:funds")
        ledger.debit(user.id, 4_321, kind="usage", idempotency_key="dash:spend")
    sign_in(client, user.email)
    return user


def _points(html: str, chart: str) -> int:
    return int(re.search(rf'id="{chart}" data-points="(\d+)"', html).group(1))


def test_the_dashboard_shows_the_balance_and_a_week_of_usage(client, robin) -> None:
    html = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'id="balance-available">1,230,246 credits<', html)
    assert 'id="balance-balance">1,230,246<' in html and 'id="balance-held">0<' in html
    assert _points(html, "spend-per-day") == 7
    assert html.count('class="hub-chart-bar') == 7  # no model used: no bar of its own
    assert 'id="spent-total">4,321 credits in total<' in html
    assert 'aria-current="true">7 days</a>' in html
    assert "No jobs yet." in html


@pytest.mark.parametrize(("query", "points"), [("?days=30", 30), ("?days=7", 7), ("?days=3", 7),
                                               ("?days=x", 7)])
def test_the_period_is_7_or_30_days(client, robin, query, points) -> None:
    html = client.get("/dashboard" + query).get_data(as_text=True)
    assert _points(html, "spend-per-day") == points
    assert f'aria-current="true">{points} days</a>' in html


def test_the_panels_answer_304_until_the_account_changes(app, client, robin) -> None:
    page = client.get("/dashboard").get_data(as_text=True)
    etag = re.search(r"data-etag='([^']+)'", page).group(1)
    first = client.get("/dashboard/panels", headers={"If-None-Match": etag})
    assert first.status_code == 304 and first.data == b""
    assert first.headers["ETag"] == etag and first.headers["Cache-Control"] == "private, no-cache"

    with app.app_context():
        create_job(robin, status="queued", hold_credits=5)
    changed = client.get("/dashboard/panels", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    fragment = changed.get_data(as_text=True)
    assert "<html" not in fragment and 'data-panel="balance"' in fragment
    assert re.search(r">\s*queued\s*<", fragment) and "holding 5 credits" in fragment

    with app.app_context():
        ledger.credit(robin.id, 1_000, kind="promo", idempotency_key="dash:more")
    again = client.get("/dashboard/panels", headers={"If-None-Match": changed.headers["ETag"]})
    assert again.status_code == 200
    assert 'id="balance-balance">1,231,246<' in again.get_data(as_text=True)
    month = client.get("/dashboard/panels?days=30",
                       headers={"If-None-Match": again.headers["ETag"]})
    assert month.status_code == 200 and _points(month.get_data(as_text=True),
                                                "spend-per-day") == 30


def test_the_panels_are_for_signed_in_users_only(client) -> None:
    response = client.get("/dashboard/panels")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/dashboard/panels")

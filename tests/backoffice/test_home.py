"""The back-office home (/admin/): the business over 1, 7 or 30 days, every figure equal to the
ledger and the jobs it counts (jobs run and settled for real, through `/v1`), each linked to the
view behind it; support reads it like an admin; plain users are refused."""

from __future__ import annotations

import html as html_lib
import re
from collections import defaultdict

import pytest

from app.models.jobs import Job
from app.models.ledger import LedgerEntry
from app.services import api_keys, ledger
from tests.factories import create_job, create_user


def _value(html: str, tile: str) -> str:
    match = re.search(rf'id="{tile}".*?<p class="kpi-value mb-0">(.*?)</p>', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def _link(html: str, tile: str) -> str:
    match = re.search(rf'id="{tile}".*?class="stretched-link kpi-link" href="([^"]+)"', html,
                      re.S)
    return html_lib.unescape(match.group(1))


def _rows(html: str, chart: str) -> dict[str, int]:
    block = re.search(rf'<figure class="hub-chart" id="{chart}".*?</figure>', html, re.S).group(0)
    return {html_lib.unescape(label): int(value) for label, value in
            re.findall(r'data-label="([^"]*)" data-value="(\d+)"', block)}


@pytest.fixture
def business(app, services):
    """Two buyers (one spends through chat and embeddings, settled for real), a promo, a failed
    and a queued job."""
    buyers = [create_user(email=f"buyer{n}@example.com") for n in range(2)]
    for n, user in enumerate(buyers):
        ledger.credit(user.id, 500_000 * (n + 1), kind="purchase", idempotency_key=f"buy:{n}")
    ledger.credit(buyers[1].id, 1_000, kind="promo", idempotency_key="promo")
    key = api_keys.create_key(buyers[0], "k").plaintext
    client = app.test_client()
    for n in range(3):
        assert client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                           json={"model": "local-echo", "max_tokens": 20,
                                 "messages": [{"role": "user", "content": f"hi {n}"}]}
                           ).status_code == 200
    assert client.post("/v1/embeddings", headers={"Authorization": f"Bearer {key}"},
                       json={"model": "local-embedding", "input": "x"}).status_code == 200
    create_job(buyers[1], status="failed", provider="openai", error_code="upstream_error")
    create_job(buyers[1], status="queued")
    return buyers


def test_the_figures_match_the_ledger_and_the_jobs(admin, business) -> None:
    html = admin.get("/admin/").get_data(as_text=True)

    purchases = sum(e.amount_credits for e in LedgerEntry.select()
                    .where(LedgerEntry.kind == "purchase"))
    charges = -sum(e.amount_credits for e in LedgerEntry.select()
                   .where(LedgerEntry.kind == "usage"))
    per_model: dict[str, int] = defaultdict(int)
    for job in Job.select().where(Job.status == "succeeded"):
        per_model[job.model] += job.cost_credits
    assert charges == sum(per_model.values()) > 0
    assert _value(html, "kpi-credits-sold") == f"{purchases:,}" == "1,500,000"
    assert _value(html, "kpi-credits-spent") == f"{charges:,}"
    assert _rows(html, "spend-by-model") == per_model
    assert _rows(html, "spend-by-provider") == {"local": charges}
    assert _value(html, "kpi-active-users") == "1"
    assert _value(html, "kpi-jobs") == "6"
    assert _value(html, "kpi-error-rate") == "20.0 %"  # 1 failed of 5 finished
    assert _rows(html, "jobs-by-status") == {"queued": 1, "running": 0, "succeeded": 4,
                                              "failed": 1, "canceled": 0}
    assert _value(html, "kpi-revenue") == "0.00"  # no Stripe payment
    assert f'id="credits-spent" data-points="7" data-total="{charges}"' in html
    assert 'id="credits-sold" data-points="7" data-total="1500000"' in html
    assert 'data-channel="local"' in html and "badge-success\">closed<" in html
    assert 'id="queues"' in html  # the test app's broker (Redis) answered
    assert _value(html, "kpi-reconciliation") == "never ran"


@pytest.mark.parametrize(("days", "points"), [(1, 24), (7, 7), (30, 30), (5, 7)])
def test_the_period_is_1_7_or_30_days(admin, days, points) -> None:
    html = admin.get(f"/admin/?days={days}").get_data(as_text=True)
    assert re.search(rf'id="credits-spent" data-points="{points}"', html)
    label = {1: "24 hours", 30: "30 days"}.get(days, "7 days")
    assert f'aria-current="true">{label}</a>' in html


def test_every_figure_opens_the_view_behind_it(admin, business) -> None:
    html = admin.get("/admin/").get_data(as_text=True)
    failed = Job.get(Job.status == "failed")
    queued = Job.get(Job.status == "queued")
    succeeded = [job.id for job in Job.select().where(Job.status == "succeeded")]
    pages = {tile: admin.get(_link(html, tile)) for tile in (
        "kpi-revenue", "kpi-credits-sold", "kpi-credits-spent", "kpi-active-users", "kpi-jobs",
        "kpi-error-rate", "kpi-queue", "kpi-reconciliation")}
    assert {tile: page.status_code for tile, page in pages.items()} == \
        dict.fromkeys(pages, 200)
    text = {tile: page.get_data(as_text=True) for tile, page in pages.items()}
    assert "Stripe session" in text["kpi-revenue"]  # the payments list's search
    assert "buyer0@example.com" in text["kpi-credits-sold"]
    kinds = re.findall(r'class="col-kind">\s*(\w+)\s*<', text["kpi-credits-sold"])
    assert kinds == ["purchase", "purchase"]
    assert all(job_id in text["kpi-credits-spent"] for job_id in succeeded)
    assert "buyer1@example.com" in text["kpi-active-users"]
    assert failed.id in text["kpi-jobs"] and queued.id in text["kpi-jobs"]
    assert failed.id in text["kpi-error-rate"] and queued.id not in text["kpi-error-rate"]
    assert queued.id in text["kpi-queue"] and failed.id not in text["kpi-queue"]
    assert "Lookback Hours" in text["kpi-reconciliation"]
    model_link = html_lib.unescape(re.search(
        r'<a href="([^"]+)" class="hub-chart-link">\s*<g class="hub-chart-row" '
        r'data-label="local-embedding"', html).group(1))
    embedding = Job.get(Job.model == "local-embedding")
    by_model = admin.get(model_link).get_data(as_text=True)
    assert embedding.id in by_model and not any(j in by_model for j in succeeded
                                                 if j != embedding.id)
    provider_link = html_lib.unescape(re.search(
        r'<tr data-provider="openai">.*?<a href="([^"]+)"', html, re.S).group(1))
    assert failed.id in admin.get(provider_link).get_data(as_text=True)


def test_support_reads_the_home_and_can_change_nothing_there(support, admin, business) -> None:
    seen = support.get("/admin/")
    assert seen.status_code == 200
    html = seen.get_data(as_text=True)
    assert _value(html, "kpi-credits-sold") == "1,500,000"
    assert 'method="post"' not in html.lower() and 'method="POST"' not in html
    assert support.post("/admin/", {}).status_code == 405


def test_plain_users_are_refused_and_visitors_sent_to_sign_in(app, signed_in) -> None:
    assert signed_in("user").get("/admin/").status_code == 403
    response = app.test_client().get("/admin/?days=30")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/")

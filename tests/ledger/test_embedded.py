"""The embedded default (SQLite, no Redis, in-memory queue): the same flows, the same rules."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from app.embedded import start_embedded_worker
from app.models.base import utcnow
from app.models.ledger import CreditHold
from app.services import ledger, promo
from app.services.ledger.cache import NoBalanceCache, current_balance_cache
from app.services.ledger.checker import check_ledger
from app.tasks.ledger import release_expired_holds
from tests.conftest import make_settings, sqlite_app
from tests.factories import auth_headers, create_user
from tests.workers import PROJECT_ROOT, settings_env


@pytest.fixture
def embedded(tmp_path, migrated_database):
    with sqlite_app(tmp_path) as app, app.app_context():
        yield app


def test_basic_flows_on_sqlite(embedded) -> None:
    assert isinstance(current_balance_cache(), NoBalanceCache)
    user = create_user()

    ledger.credit(user.id, 1_000, kind="purchase", idempotency_key="buy")
    replay = ledger.credit(user.id, 1_000, kind="purchase", idempotency_key="buy")
    ledger.debit(user.id, 100, kind="usage", idempotency_key="d1")
    with pytest.raises(ledger.InsufficientCredits):
        ledger.debit(user.id, 901, kind="usage", idempotency_key="d2")
    hold = ledger.place_hold(user.id, 500, idempotency_key="h", purpose="chat")
    with pytest.raises(ledger.InsufficientCredits):
        ledger.place_hold(user.id, 401, idempotency_key="h2", purpose="chat")
    settled = ledger.settle_hold(hold.hold_id, 200)
    promo.create_promo_code("LOCAL", 50, max_redemptions=1, created_by=None, actor_label="test")
    promo.redeem_promo_code(user.id, "local")
    with pytest.raises(promo.PromoCodeAlreadyRedeemed):
        promo.redeem_promo_code(user.id, "LOCAL")

    assert replay.replayed and settled.balance == 700
    assert ledger.get_balance(user.id) == ledger.Balance(balance=750, held=0, available=750)
    assert check_ledger().ok


def test_history_api_on_sqlite(embedded) -> None:
    user = create_user()
    for i in range(6):
        ledger.credit(user.id, i + 1, kind="purchase", idempotency_key=f"k{i}")
    ledger.debit(user.id, 5, kind="usage", idempotency_key="spend")
    headers = auth_headers(user, make_settings().SECRET_KEY)
    client = embedded.test_client()

    first = client.get("/api/credits/transactions?limit=4", headers=headers).json
    second = client.get(f"/api/credits/transactions?limit=4&cursor={first['next_cursor']}",
                        headers=headers).json
    usage = client.get("/api/credits/usage?days=3", headers=headers).json

    amounts = [i["amount_credits"] for i in first["items"] + second["items"]]
    assert amounts == [-5, 6, 5, 4, 3, 2, 1] and second["next_cursor"] is None
    assert [d["usage_credits"] for d in usage["items"]] == [0, 0, 5]
    assert client.get("/api/credits/balance", headers=headers).json["balance"] == 16


def test_the_periodic_actor_releases_expired_holds_through_the_queue(embedded) -> None:
    user = create_user()
    ledger.credit(user.id, 100, kind="purchase", idempotency_key="buy")
    hold = ledger.place_hold(user.id, 60, idempotency_key="crashed-job", purpose="chat")
    CreditHold.update(expires_at=utcnow() - timedelta(minutes=1)).execute()
    broker = embedded.extensions["hub"].broker
    worker = start_embedded_worker(embedded)
    try:
        release_expired_holds.send()
        broker.join(release_expired_holds.queue_name, fail_fast=True)
        worker.join()
    finally:
        worker.stop()

    assert CreditHold.get_by_id(hold.hold_id).status == "released"
    assert ledger.get_balance(user.id) == ledger.Balance(balance=100, held=0, available=100)


def test_a_cli_adjustment_shows_at_once_in_an_embedded_hub(embedded, tmp_path) -> None:
    user = create_user(email="embedded@example.com")
    headers = auth_headers(user, make_settings().SECRET_KEY)
    client = embedded.test_client()
    assert client.get("/api/credits/balance", headers=headers).json["balance"] == 0
    env = settings_env(make_settings(DATABASE_URL=f"sqlite:///{tmp_path}/hub.sqlite3",
                                     REDIS_URL="")) | {"HUB_LOG_LEVEL": "WARNING"}

    result = subprocess.run([sys.executable, "-m", "flask", "credits", "adjust", user.email,
                             "40", "--reason", "from the CLI"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stderr
    assert client.get("/api/credits/balance", headers=headers).json["balance"] == 40


def test_the_periodic_actor_is_registered() -> None:
    from app.scheduler import PERIODIC_JOBS

    assert PERIODIC_JOBS["ledger.release_expired_holds"] == 60

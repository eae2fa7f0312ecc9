"""Exactness under concurrency, on PostgreSQL with real threads and pooled connections."""

from __future__ import annotations

from collections import Counter

import pytest

from app.models.ledger import CreditHold, LedgerEntry
from app.models.promo import PromoCode
from app.services import ledger, promo
from app.services.ledger.checker import check_ledger
from tests.factories import create_user
from tests.ledger.conftest import run_concurrently

pytestmark = pytest.mark.slow


def _outcomes(results: list) -> Counter:
    return Counter(type(r).__name__ for r in results)


def test_200_concurrent_debits_of_1_against_50_credits(threaded_app) -> None:
    user = create_user()
    ledger.credit(user.id, 50, kind="purchase", idempotency_key="buy")

    results = run_concurrently(threaded_app, 200, lambda i: ledger.debit(
        user.id, 1, kind="usage", idempotency_key=f"job:{i}"))

    assert _outcomes(results) == {"Movement": 50, "InsufficientCredits": 150}
    assert ledger.get_balance(user.id) == ledger.Balance(balance=0, held=0, available=0)
    balances_after = sorted(r.balance for r in results if isinstance(r, ledger.Movement))
    assert balances_after == list(range(50))  # each debit saw the one before it
    report = check_ledger()
    assert report.ok, report.violations
    assert report.entries == 51


def test_100_concurrent_redemptions_of_a_code_limited_to_10(threaded_app) -> None:
    users = [create_user() for _ in range(100)]
    promo.create_promo_code("launch10", 1_000, max_redemptions=10,
                            created_by=None, actor_label="test")

    results = run_concurrently(threaded_app, 100,
                               lambda i: promo.redeem_promo_code(users[i].id, "LAUNCH10"))

    assert _outcomes(results) == {"Redemption": 10, "PromoCodeExhausted": 90}
    assert PromoCode.get(PromoCode.code == "LAUNCH10").redemptions == 10
    assert LedgerEntry.select().where(LedgerEntry.kind == "promo").count() == 10
    assert check_ledger().ok


def test_one_user_redeeming_from_many_threads_gets_the_credit_once(threaded_app) -> None:
    user = create_user()
    promo.create_promo_code("ONCE", 500, max_redemptions=100, created_by=None, actor_label="test")

    results = run_concurrently(threaded_app, 20, lambda i: promo.redeem_promo_code(user.id, "once"))

    assert _outcomes(results) == {"Redemption": 1, "PromoCodeAlreadyRedeemed": 19}
    assert ledger.get_balance(user.id).balance == 500


@pytest.mark.parametrize("operation", ["credit", "debit"])
def test_one_key_from_20_threads_is_one_entry_and_20_identical_results(threaded_app,
                                                                       operation) -> None:
    user = create_user()
    ledger.credit(user.id, 1_000, kind="purchase", idempotency_key="buy")
    move = getattr(ledger, operation)
    kind = "refund" if operation == "credit" else "usage"

    results = run_concurrently(threaded_app, 20, lambda i: move(
        user.id, 250, kind=kind, idempotency_key="the-one-key"))

    assert all(isinstance(r, ledger.Movement) for r in results), results
    assert len({(r.entry_id, r.amount_credits, r.balance, r.held, r.available,
                 r.shortfall_credits) for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False] + [True] * 19
    assert LedgerEntry.select().where(LedgerEntry.idempotency_key == "the-one-key").count() == 1
    assert ledger.get_balance(user.id).balance == (1_250 if operation == "credit" else 750)


def test_concurrent_first_credits_create_one_account(threaded_app) -> None:
    user = create_user()

    results = run_concurrently(threaded_app, 20, lambda i: ledger.credit(
        user.id, 10, kind="purchase", idempotency_key=f"k{i}"))

    assert _outcomes(results) == {"Movement": 20}
    assert ledger.get_balance(user.id).balance == 200


def test_concurrent_holds_never_exceed_the_balance(threaded_app) -> None:
    user = create_user()
    ledger.credit(user.id, 100, kind="purchase", idempotency_key="buy")

    results = run_concurrently(threaded_app, 50, lambda i: ledger.place_hold(
        user.id, 7, idempotency_key=f"job:{i}", purpose="chat"))

    assert _outcomes(results) == {"HoldResult": 14, "InsufficientCredits": 36}
    assert ledger.get_balance(user.id) == ledger.Balance(balance=100, held=98, available=2)
    assert check_ledger().ok


def test_concurrent_settles_and_releases_of_one_hold_settle_it_once(threaded_app) -> None:
    user = create_user()
    ledger.credit(user.id, 1_000, kind="purchase", idempotency_key="buy")
    hold = ledger.place_hold(user.id, 500, idempotency_key="job", purpose="chat")

    def settle_or_release(i: int):
        return ledger.settle_hold(hold.hold_id, 120) if i % 2 else ledger.release_hold(hold.hold_id)

    results = run_concurrently(threaded_app, 20, settle_or_release)

    settles, releases = results[1::2], results[0::2]
    assert len({(m.entry_id, m.amount_credits) for m in settles}) == 1
    assert sorted(m.replayed for m in settles) == [False] + [True] * 9
    # a release that came first is fine (the settle then charges the available balance);
    # one that came after the settle is refused
    assert {type(r).__name__ for r in releases} <= {"HoldResult", "HoldAlreadySettled"}
    assert CreditHold.get_by_id(hold.hold_id).status == "settled"
    assert LedgerEntry.select().where(LedgerEntry.kind == "usage").count() == 1
    assert ledger.get_balance(user.id) == ledger.Balance(balance=880, held=0, available=880)
    assert check_ledger().ok


def test_debits_and_holds_racing_on_one_account_stay_exact(threaded_app) -> None:
    user = create_user()
    ledger.credit(user.id, 1_000, kind="purchase", idempotency_key="buy")

    def mixed(i: int):
        if i % 3 == 0:
            return ledger.debit(user.id, 30, kind="usage", idempotency_key=f"d{i}")
        hold = ledger.place_hold(user.id, 40, idempotency_key=f"h{i}", purpose="chat")
        return ledger.settle_hold(hold.hold_id, 25) if i % 3 == 1 else \
            ledger.release_hold(hold.hold_id)

    results = run_concurrently(threaded_app, 60, mixed)

    # 20 debits of 30 and 20 settles of 25 would need 1,100 credits: some must be refused
    outcomes = _outcomes(results)
    assert outcomes["InsufficientCredits"] >= 1
    assert set(outcomes) <= {"Movement", "HoldResult", "InsufficientCredits"}
    charged = sum(r.amount_credits for r in results if isinstance(r, ledger.Movement))
    balance = ledger.get_balance(user.id)
    assert (balance.balance, balance.held) == (1_000 + charged, 0)
    assert check_ledger().ok


def test_one_hold_key_raced_from_two_accounts_holds_once(threaded_app) -> None:
    users = [create_user(), create_user()]
    for user in users:
        ledger.credit(user.id, 1_000, kind="purchase", idempotency_key=f"buy{user.id}")

    results = run_concurrently(threaded_app, 20, lambda i: ledger.place_hold(
        users[i % 2].id, 100, idempotency_key="job:shared", purpose="chat"))

    holds = [r for r in results if isinstance(r, ledger.HoldResult)]
    assert sorted(h.replayed for h in holds) == [False] + [True] * (len(holds) - 1)
    assert len({h.hold_id for h in holds}) == 1
    assert _outcomes(results) == {"HoldResult": 10, "IdempotencyKeyReused": 10}
    assert sum(ledger.get_balance(u.id).held for u in users) == 100
    assert check_ledger().ok

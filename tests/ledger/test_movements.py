"""Credits and debits through the service: amounts, idempotency, refusals, partial debits."""

from __future__ import annotations

import pytest

from app.models.ledger import CreditAccount, LedgerEntry
from app.services import ledger
from app.services.ledger.checker import check_ledger
from tests.factories import create_user


def test_credit_creates_the_account_and_debit_takes_from_it(ctx) -> None:
    user = create_user()
    assert ledger.get_balance(user.id) == ledger.Balance(balance=0, held=0, available=0)

    bought = ledger.credit(user.id, 1_000, kind="purchase", idempotency_key="stripe:cs_1",
                           reference="stripe:cs_1", memo="starter pack")
    spent = ledger.debit(user.id, 300, kind="usage", idempotency_key="job:1")

    assert (bought.amount_credits, bought.balance, bought.replayed) == (1_000, 1_000, False)
    assert (spent.amount_credits, spent.balance, spent.available) == (-300, 700, 700)
    assert ledger.get_balance(user.id) == ledger.Balance(balance=700, held=0, available=700)
    entries = list(LedgerEntry.select().order_by(LedgerEntry.id))
    assert [(e.kind, e.amount_credits, e.balance_after) for e in entries] == \
        [("purchase", 1_000, 1_000), ("usage", -300, 700)]
    assert entries[0].reference == "stripe:cs_1" and entries[0].memo == "starter pack"
    assert check_ledger().ok


def test_a_replayed_key_returns_the_first_result_and_moves_nothing(ctx) -> None:
    user = create_user()
    first = ledger.credit(user.id, 500, kind="purchase", idempotency_key="stripe:evt_1")
    ledger.debit(user.id, 100, kind="usage", idempotency_key="job:7")

    again = ledger.credit(user.id, 500, kind="purchase", idempotency_key="stripe:evt_1")
    debit_again = ledger.debit(user.id, 100, kind="usage", idempotency_key="job:7")

    assert again == ledger.Movement(**{**first.__dict__, "replayed": True})
    assert (debit_again.balance, debit_again.replayed) == (400, True)
    assert ledger.get_balance(user.id).balance == 400
    assert LedgerEntry.select().count() == 2


def test_replaying_a_debit_that_emptied_the_account_is_not_refused(ctx) -> None:
    user = create_user()
    ledger.credit(user.id, 50, kind="purchase", idempotency_key="buy")
    first = ledger.debit(user.id, 50, kind="usage", idempotency_key="spend-all")

    replay = ledger.debit(user.id, 50, kind="usage", idempotency_key="spend-all")

    assert replay.replayed and replay.entry_id == first.entry_id and replay.balance == 0


def test_a_key_used_for_another_movement_is_a_conflict(ctx) -> None:
    user, other = create_user(), create_user()
    ledger.credit(user.id, 500, kind="purchase", idempotency_key="k")

    for call in (lambda: ledger.credit(user.id, 501, kind="purchase", idempotency_key="k"),
                 lambda: ledger.credit(other.id, 500, kind="purchase", idempotency_key="k"),
                 lambda: ledger.credit(user.id, 500, kind="promo", idempotency_key="k"),
                 lambda: ledger.debit(user.id, 500, kind="purchase", idempotency_key="k")):
        with pytest.raises(ledger.IdempotencyKeyReused):
            call()
    assert ledger.get_balance(user.id).balance == 500
    assert ledger.get_balance(other.id).balance == 0


def test_a_debit_beyond_the_available_amount_is_refused_and_changes_nothing(ctx) -> None:
    user = create_user()
    ledger.credit(user.id, 100, kind="purchase", idempotency_key="buy")
    hold = ledger.place_hold(user.id, 60, idempotency_key="hold", purpose="chat")

    with pytest.raises(ledger.InsufficientCredits) as info:
        ledger.debit(user.id, 41, kind="usage", idempotency_key="too-much")

    assert info.value.http_status == 402
    assert info.value.message == "not enough credits: 40 available, 41 needed"
    assert info.value.details == {"available": 40, "required_credits": 41}
    assert ledger.get_balance(user.id) == ledger.Balance(balance=100, held=60, available=40)
    assert not LedgerEntry.select().where(LedgerEntry.idempotency_key == "too-much").exists()
    # the refused key stays free: the same key succeeds once credits are available
    ledger.release_hold(hold.hold_id)
    assert ledger.debit(user.id, 41, kind="usage", idempotency_key="too-much").balance == 59


def test_a_user_without_an_account_cannot_be_debited(ctx) -> None:
    user = create_user()
    with pytest.raises(ledger.InsufficientCredits):
        ledger.debit(user.id, 1, kind="usage", idempotency_key="k")
    assert not CreditAccount.select().exists()


def test_a_partial_debit_takes_what_is_available_and_reports_the_shortfall(ctx) -> None:
    user = create_user()
    ledger.credit(user.id, 300, kind="purchase", idempotency_key="buy")
    ledger.place_hold(user.id, 100, idempotency_key="hold", purpose="chat")

    taken = ledger.debit(user.id, 500, kind="reversal", idempotency_key="refund:re_1",
                         allow_partial=True)
    nothing_left = ledger.debit(user.id, 50, kind="reversal", idempotency_key="refund:re_2",
                                allow_partial=True)
    ledger.credit(user.id, 1_000, kind="purchase", idempotency_key="buy-2")
    replay = ledger.debit(user.id, 50, kind="reversal", idempotency_key="refund:re_2",
                          allow_partial=True)

    assert (taken.amount_credits, taken.shortfall_credits, taken.balance) == (-200, 300, 100)
    assert (nothing_left.amount_credits, nothing_left.shortfall_credits) == (0, 50)
    assert replay == ledger.Movement(**{**nothing_left.__dict__, "replayed": True})
    assert ledger.get_balance(user.id) == ledger.Balance(balance=1_100, held=100, available=1_000)
    assert check_ledger().ok


def test_partial_debit_of_a_user_without_an_account_records_the_shortfall(ctx) -> None:
    user = create_user()
    result = ledger.debit(user.id, 70, kind="reversal", idempotency_key="r", allow_partial=True)
    assert (result.amount_credits, result.shortfall_credits, result.balance) == (0, 70, 0)


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, 10**15 + 1])
def test_amounts_must_be_positive_whole_credits(ctx, amount) -> None:
    user = create_user()
    with pytest.raises(ledger.InvalidMovement):
        ledger.credit(user.id, amount, kind="purchase", idempotency_key="k")
    with pytest.raises(ledger.InvalidMovement):
        ledger.debit(user.id, amount, kind="usage", idempotency_key="k")


def test_kind_and_key_are_validated(ctx) -> None:
    user = create_user()
    with pytest.raises(ledger.InvalidMovement, match="kind must be one of"):
        ledger.credit(user.id, 1, kind="gift", idempotency_key="k")
    with pytest.raises(ledger.InvalidMovement, match="idempotency_key"):
        ledger.credit(user.id, 1, kind="promo", idempotency_key="")
    with pytest.raises(ledger.InvalidMovement, match="idempotency_key"):
        ledger.credit(user.id, 1, kind="promo", idempotency_key="k" * 201)


def test_crediting_a_missing_user_is_not_found(ctx) -> None:
    with pytest.raises(ledger.AccountNotFound):
        ledger.credit(987_654, 1, kind="promo", idempotency_key="k")
    assert not CreditAccount.select().exists()


def test_entries_of_one_account_are_ordered_the_same_by_time_and_by_id(ctx) -> None:
    user = create_user()
    for i in range(20):
        ledger.credit(user.id, 1, kind="purchase", idempotency_key=f"k{i}")
    rows = list(LedgerEntry.select().order_by(LedgerEntry.id))
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows)


@pytest.mark.parametrize(("quantity", "price", "per", "expected"), [
    (1_234, 15_000, 1_000_000, 19),  # 18.51 → 19: charges round up
    (1_000_000, 15_000, 1_000_000, 15_000),  # exact stays exact
    (1, 1, 1_000_000, 1),  # any fraction costs one credit
    (0, 15_000, 1_000_000, 0),
])
def test_charges_round_up_to_a_whole_credit(quantity, price, per, expected) -> None:
    assert ledger.charge_credits(quantity, price, per=per) == expected


def test_one_credit_is_a_hundred_thousandth_of_a_dollar() -> None:
    assert ledger.CREDITS_PER_USD == 100_000
    assert ledger.credits_for_cents(999) == 999_000  # US$9.99
    with pytest.raises(ValueError):
        ledger.charge_credits(-1, 1)

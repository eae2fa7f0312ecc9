"""Holds: reserve, settle for the real cost, release, expire."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import HubError
from app.models.base import utcnow
from app.models.ledger import CreditHold, LedgerEntry
from app.services import ledger
from app.services.ledger.checker import check_ledger


def test_a_hold_reserves_credits_and_settling_for_less_releases_the_rest(funded) -> None:
    user = funded(1_000)

    hold = ledger.place_hold(user.id, 400, idempotency_key="job:1:hold", purpose="chat",
                             reference="job:1")
    during = ledger.get_balance(user.id)
    settled = ledger.settle_hold(hold.hold_id, 150)

    assert (hold.amount_credits, hold.status, hold.replayed) == (400, "active", False)
    assert during == ledger.Balance(balance=1_000, held=400, available=600)
    assert (settled.amount_credits, settled.balance, settled.held, settled.available) == \
        (-150, 850, 0, 850)
    entry = LedgerEntry.get_by_id(settled.entry_id)
    assert (entry.kind, entry.reference, entry.memo, entry.idempotency_key) == \
        ("usage", "job:1", "chat", f"hold:{hold.hold_id}:settle")
    assert CreditHold.get_by_id(hold.hold_id).status == "settled"
    assert check_ledger().ok


def test_settle_and_release_are_idempotent(funded) -> None:
    user = funded(1_000)
    first = ledger.place_hold(user.id, 300, idempotency_key="a", purpose="chat")
    second = ledger.place_hold(user.id, 200, idempotency_key="b", purpose="chat")

    settled = ledger.settle_hold(first.hold_id, 100, memo="gpt-x 1,234 tokens")
    settled_again = ledger.settle_hold(first.hold_id, 999)
    released = ledger.release_hold(second.hold_id)
    released_again = ledger.release_hold(second.hold_id)

    assert settled_again == ledger.Movement(**{**settled.__dict__, "replayed": True})
    assert (released.status, released.replayed) == ("released", False)
    assert (released_again.status, released_again.replayed) == ("released", True)
    assert ledger.get_balance(first.user_id) == \
        ledger.Balance(balance=900, held=0, available=900)
    assert LedgerEntry.select().where(LedgerEntry.kind == "usage").count() == 1
    with pytest.raises(ledger.HoldAlreadySettled):
        ledger.release_hold(first.hold_id)


def test_placing_a_hold_again_with_its_key_returns_it(funded) -> None:
    user = funded(1_000)
    calls = []
    first = ledger.place_hold(user.id, 300, idempotency_key="job:9", purpose="chat",
                              within=lambda: calls.append(1))
    again = ledger.place_hold(user.id, 300, idempotency_key="job:9", purpose="chat",
                              within=lambda: calls.append(2))

    assert (again.hold_id, again.replayed, again.status) == (first.hold_id, True, "active")
    assert calls == [1]  # a replay holds nothing new, so the cap check does not run again
    assert ledger.get_balance(user.id).held == 300
    with pytest.raises(ledger.IdempotencyKeyReused):
        ledger.place_hold(user.id, 301, idempotency_key="job:9", purpose="chat")


def test_a_hold_beyond_the_available_amount_is_refused(funded) -> None:
    user = funded(500)
    ledger.place_hold(user.id, 400, idempotency_key="a", purpose="chat")

    with pytest.raises(ledger.InsufficientCredits, match="100 available, 101 needed"):
        ledger.place_hold(user.id, 101, idempotency_key="b", purpose="chat")

    assert ledger.get_balance(user.id).held == 400
    assert not CreditHold.select().where(CreditHold.idempotency_key == "b").exists()


class CapReached(HubError):
    http_status = 402
    code = "key_cap_reached"


def test_when_within_raises_nothing_is_held(funded) -> None:
    user = funded(500)
    seen = []

    def cap() -> None:
        seen.append(ledger.get_balance(user.id).held)
        raise CapReached("this API key's credit cap is reached")

    with pytest.raises(CapReached):
        ledger.place_hold(user.id, 100, idempotency_key="a", purpose="chat", within=cap)

    assert len(seen) == 1  # it ran (inside the hold's transaction), and its refusal undid it
    assert ledger.get_balance(user.id).held == 0
    assert not CreditHold.select().exists()


def test_settling_beyond_the_hold_takes_the_excess_from_the_available_balance(funded) -> None:
    user = funded(1_000)
    other = ledger.place_hold(user.id, 700, idempotency_key="other", purpose="video")
    hold = ledger.place_hold(user.id, 100, idempotency_key="chat", purpose="chat")

    result = ledger.settle_hold(hold.hold_id, 350)  # 100 held + 200 available; 50 short

    assert (result.amount_credits, result.shortfall_credits) == (-300, 50)
    assert ledger.get_balance(user.id) == ledger.Balance(balance=700, held=700, available=0)
    ledger.release_hold(other.hold_id)
    assert check_ledger().ok


def test_settling_for_nothing_records_a_zero_usage_entry(funded) -> None:
    user = funded(100)
    hold = ledger.place_hold(user.id, 60, idempotency_key="h", purpose="chat")

    result = ledger.settle_hold(hold.hold_id, 0)

    assert (result.amount_credits, result.balance, result.held) == (0, 100, 0)
    assert LedgerEntry.get_by_id(result.entry_id).amount_credits == 0


def test_an_expired_hold_can_still_be_settled_from_the_available_balance(funded) -> None:
    user = funded(100)
    hold = ledger.place_hold(user.id, 80, idempotency_key="h", purpose="video")
    ledger.release_hold(hold.hold_id)  # as the expiry job would

    result = ledger.settle_hold(hold.hold_id, 120)

    assert (result.amount_credits, result.shortfall_credits, result.balance) == (-100, 20, 0)
    assert CreditHold.get_by_id(hold.hold_id).status == "settled"
    assert check_ledger().ok


def test_expired_holds_are_released_and_live_ones_kept(funded) -> None:
    user = funded(1_000)
    expired = ledger.place_hold(user.id, 100, idempotency_key="old", purpose="chat")
    live = ledger.place_hold(user.id, 200, idempotency_key="new", purpose="chat")
    settled = ledger.place_hold(user.id, 50, idempotency_key="done", purpose="chat")
    ledger.settle_hold(settled.hold_id, 10)
    (CreditHold.update(expires_at=utcnow() - timedelta(seconds=1))
     .where(CreditHold.id.in_([expired.hold_id, settled.hold_id])).execute())

    assert ledger.release_expired_holds() == 1
    assert ledger.release_expired_holds() == 0

    assert CreditHold.get_by_id(expired.hold_id).status == "released"
    assert CreditHold.get_by_id(live.hold_id).status == "active"
    assert ledger.get_balance(user.id) == ledger.Balance(balance=990, held=200, available=790)


def test_unknown_holds_and_bad_amounts(funded) -> None:
    user = funded(10)
    with pytest.raises(ledger.HoldNotFound):
        ledger.settle_hold(123_456, 1)
    with pytest.raises(ledger.HoldNotFound):
        ledger.release_hold(123_456)
    hold = ledger.place_hold(user.id, 5, idempotency_key="h", purpose="chat")
    with pytest.raises(ledger.InvalidMovement):
        ledger.settle_hold(hold.hold_id, -1)
    with pytest.raises(ledger.InvalidMovement):
        ledger.place_hold(user.id, 1, idempotency_key="h2", purpose="chat", expires_in_s=0)
    with pytest.raises(ledger.InvalidMovement):
        ledger.place_hold(user.id, 0, idempotency_key="h3", purpose="chat")

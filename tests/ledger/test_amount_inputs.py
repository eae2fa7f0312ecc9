"""Amounts an admin sends to the credit adjustment and promo code APIs: negative past the
bound, zero, huge, fractional, non-numeric; each is a 422 naming the field and changes
nothing (no ledger entry, no audit entry, no promo code, the balance as it was).

Already pinned elsewhere: zero and a numeric string on the adjustment, a removal larger than
the available credit (402), in tests/ledger/test_admin.py; `max_redemptions` past its column
in tests/test_hostile_inputs.py."""

from __future__ import annotations

import pytest

from app.models.audit import AuditLogEntry
from app.models.ledger import LedgerEntry
from app.models.promo import PromoCode
from app.services import ledger
from app.services.ledger.movements import MAX_AMOUNT_CREDITS

NOT_AMOUNTS = [-(MAX_AMOUNT_CREDITS + 1), MAX_AMOUNT_CREDITS + 1, 10**30, -(10**30), 2.5, 1.0,
               "1e3", True, None, [5], {"credits": 5}]
NOT_PROMO_AMOUNTS = [0, -1, *NOT_AMOUNTS]
NOT_LIMITS = [0, -1, 2.5, "3", True, None]
PROMO = {"code": "BOUNDS", "amount_credits": 500, "max_redemptions": 3}


def nothing_changed(user_id: int, balance: int) -> None:
    assert ledger.get_balance(user_id).balance == balance
    assert LedgerEntry.select().count() == 1  # the seed purchase
    assert not AuditLogEntry.select().exists()


@pytest.mark.parametrize("amount", NOT_AMOUNTS, ids=repr)
def test_an_adjustment_amount_out_of_bounds_is_refused(client, funded, admin_headers,
                                                       amount) -> None:
    user = funded(1_000)

    response = client.post(f"/api/admin/users/{user.id}/credits", headers=admin_headers,
                           json={"amount": amount, "reason": "bounds", "idempotency_key": "k"})

    assert response.status_code == 422, response.json
    assert response.json["error"]["message"].startswith("amount:"), response.json
    nothing_changed(user.id, 1_000)


def test_the_largest_adjustments_are_accepted(client, funded, admin_headers) -> None:
    user = funded(0)
    added = client.post(f"/api/admin/users/{user.id}/credits", headers=admin_headers,
                        json={"amount": MAX_AMOUNT_CREDITS, "reason": "edge",
                              "idempotency_key": "max"})
    removed = client.post(f"/api/admin/users/{user.id}/credits", headers=admin_headers,
                          json={"amount": -MAX_AMOUNT_CREDITS, "reason": "edge",
                                "idempotency_key": "min"})

    assert (added.status_code, removed.status_code) == (200, 200)
    assert ledger.get_balance(user.id).balance == 0


@pytest.mark.parametrize(("field", "value"),
                         [("amount_credits", v) for v in NOT_PROMO_AMOUNTS]
                         + [("max_redemptions", v) for v in NOT_LIMITS], ids=repr)
def test_a_promo_amount_or_limit_out_of_bounds_is_refused(client, ctx, admin_headers, field,
                                                          value) -> None:
    response = client.post("/api/admin/promo-codes", headers=admin_headers,
                           json={**PROMO, field: value})

    assert response.status_code == 422, response.json
    assert response.json["error"]["message"].startswith(f"{field}:"), response.json
    assert not PromoCode.select().exists() and not AuditLogEntry.select().exists()

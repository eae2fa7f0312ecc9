"""Amounts an admin types into the back office's credit adjustment and promo code forms:
past the bound, huge, negative, fractional, not a number. Each is refused on the form and
changes nothing. (Zero, 5.5 and a removal past the balance on the adjustment form are pinned
in test_user_credits.py; a promo limit past its column in test_promo_codes.py.)"""

from __future__ import annotations

import pytest

from app.models.audit import AuditLogEntry
from app.models.ledger import LedgerEntry
from app.models.promo import PromoCode
from app.services import ledger
from app.services.ledger.movements import MAX_AMOUNT_CREDITS
from tests.factories import create_user

TOO_LARGE = [str(MAX_AMOUNT_CREDITS + 1), str(-(MAX_AMOUNT_CREDITS + 1)), str(10**30),
             str(-(10**30))]
NOT_NUMBERS = ["1e3", "abc", "", " "]
PROMO_FORM = {"code": "BOUNDS", "amount_credits": "500", "max_redemptions": "3",
              "valid_from": "", "valid_until": ""}


@pytest.mark.parametrize("amount", TOO_LARGE + NOT_NUMBERS)
def test_an_adjustment_out_of_bounds_is_refused_on_the_form(admin, services, amount) -> None:
    user = create_user()
    ledger.credit(user.id, 100, kind="purchase", idempotency_key=f"seed:{user.id}")

    response = admin.post(f"/admin/users/adjust/?id={user.id}",
                          {"amount_credits": amount, "reason": "x", "idempotency_key": "k" * 32})

    assert response.status_code == 422
    assert ledger.get_balance(user.id).balance == 100
    assert LedgerEntry.select().count() == 1 and not AuditLogEntry.select().exists()


@pytest.mark.parametrize("amount", ["0", "-5", *TOO_LARGE, *NOT_NUMBERS, "2.5"])
def test_a_promo_amount_out_of_bounds_creates_nothing(admin, services, amount) -> None:
    response = admin.post("/admin/promo-codes/new/", {**PROMO_FORM, "amount_credits": amount})

    assert response.status_code == 200  # the form again, with the reason
    assert b"amount_credits: must be between 1 and" in response.data or \
        b"Not a valid integer" in response.data or b"This field is required" in response.data
    assert not PromoCode.select().exists() and not AuditLogEntry.select().exists()

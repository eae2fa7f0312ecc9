"""What a credit is worth, and the one rounding rule for charges.

1 credit = US$0.00001, so 100,000 credits = US$1 and per-token prices stay integers (e.g. a
model at $0.15 per million input tokens costs 15,000 credits per million). A charge is
always rounded *up* to a whole credit: the hub never undercharges silently, and a charge of
a fraction of a credit costs one credit (at most US$0.00001).
"""

from __future__ import annotations

CREDITS_PER_USD = 100_000
CREDITS_PER_USD_CENT = CREDITS_PER_USD // 100


def credits_for_cents(amount_cents: int) -> int:
    """The credits bought with `amount_cents` US cents (exact: 1 cent = 1,000 credits)."""
    return amount_cents * CREDITS_PER_USD_CENT


def charge_credits(quantity: int, price_credits: int, *, per: int = 1) -> int:
    """The charge for `quantity` units priced `price_credits` per `per` units, rounded up.

    `charge_credits(1234, 15_000, per=1_000_000)` is 19 (18.51 rounded up).
    """
    if quantity < 0 or price_credits < 0 or per <= 0:
        raise ValueError("quantity and price must be non-negative, per positive")
    return -(-quantity * price_credits // per)

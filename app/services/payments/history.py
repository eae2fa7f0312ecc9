"""A user's payments, newest first, in pages."""

from __future__ import annotations

from dataclasses import dataclass

from app.models.payments import Payment

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class PaymentPage:
    items: list[Payment]
    next_cursor: str | None


def list_payments(user_id: int, *, cursor: str | None = None,
                  limit: int = DEFAULT_PAGE_SIZE) -> PaymentPage:
    """`cursor` is the opaque `next_cursor` of the previous page (the last payment id seen)."""
    query = Payment.select().where(Payment.user == user_id)
    if cursor:
        query = query.where(Payment.id < int(cursor))
    rows = list(query.order_by(Payment.id.desc()).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return PaymentPage(rows, str(rows[-1].id) if more else None)

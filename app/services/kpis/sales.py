"""Money in: revenue (payments credited) and credits sold, given and taken back, from the
ledger's entries other than usage (migration 019's partial index `ledger_entries (created_at)
… WHERE kind <> 'usage'`: the few entries that are not charges, so the hot path's usage
entries pay nothing for it) and from `payments` (its partial index on `credited_at`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import SQL, fn

from app.models.ledger import LedgerEntry
from app.models.payments import Payment
from app.services.kpis.periods import Period, bucket_start


@dataclass(frozen=True)
class Revenue:
    currency: str
    amount_cents: int
    payments: int


@dataclass(frozen=True)
class Sales:
    revenue: list[Revenue]  # per currency, largest first
    credits_by_kind: dict[str, int]  # signed sums of the entries of each kind but usage
    sold_per_bucket: list[tuple[datetime, int]]  # purchase entries, oldest first

    @property
    def credits_sold(self) -> int:
        return self.credits_by_kind.get("purchase", 0)


def sales(period: Period) -> Sales:
    bucket = fn.date_trunc(period.bucket, LedgerEntry.created_at)
    rows = (LedgerEntry.select(bucket, LedgerEntry.kind, fn.SUM(LedgerEntry.amount_credits))
            .where((LedgerEntry.created_at >= period.since) & (LedgerEntry.kind != "usage"))
            .group_by(SQL("1"), SQL("2")).tuples())
    by_kind: dict[str, int] = {}
    sold = {start: 0 for start in period.starts}
    for start, kind, total in rows:
        by_kind[kind] = by_kind.get(kind, 0) + int(total)
        key = bucket_start(start, period.bucket)
        if kind == "purchase" and key in sold:
            sold[key] += int(total)
    return Sales(revenue=revenue(period), credits_by_kind=by_kind,
                 sold_per_bucket=list(sold.items()))


def revenue(period: Period) -> list[Revenue]:
    """What the payments credited in `period` were paid, per currency (before any refund)."""
    rows = (Payment.select(Payment.currency, fn.SUM(Payment.amount_cents), fn.COUNT(SQL("*")))
            .where(Payment.credited_at >= period.since).group_by(Payment.currency).tuples())
    found = [Revenue(currency, int(cents), int(count)) for currency, cents, count in rows]
    return sorted(found, key=lambda row: (-row.amount_cents, row.currency))

"""A user's ledger history: keyset pages, CSV rows and per-day usage.

Pages are ordered newest first by (created_at, id) and continue from an opaque cursor naming
the last row shown. Entries of one account are written under its row lock with
max(now, previous time), so a new entry always sorts before every existing one: pages stay
stable while entries arrive, at any depth, with no OFFSET.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from peewee import Tuple, fn

from app.models.base import utcnow
from app.models.ledger import LedgerEntry
from app.services.cursors import InvalidCursor, decode_cursor, encode_cursor

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
EXPORT_CHUNK_SIZE = 1000


@dataclass(frozen=True)
class HistoryFilter:
    kind: str | None = None
    since: datetime | None = None  # inclusive, naive UTC
    until: datetime | None = None  # exclusive, naive UTC


@dataclass(frozen=True)
class HistoryPage:
    items: list[LedgerEntry]
    next_cursor: str | None


@dataclass(frozen=True)
class DailyUsage:
    day: date
    usage_credits: int
    entries: int


def _entry_cursor(entry: LedgerEntry) -> str:
    return encode_cursor(entry.created_at, entry.id)


def _decode_entry_cursor(cursor: str) -> tuple[datetime, int]:
    stamp, entry_id = decode_cursor(cursor)
    if not entry_id.isdigit():
        raise InvalidCursor()
    return stamp, int(entry_id)


def _filtered(user_id: int, where: HistoryFilter):
    query = LedgerEntry.select().where(LedgerEntry.account == user_id)
    if where.kind:
        query = query.where(LedgerEntry.kind == where.kind)
    if where.since:
        query = query.where(LedgerEntry.created_at >= where.since)
    if where.until:
        query = query.where(LedgerEntry.created_at < where.until)
    return query


def list_entries(user_id: int, *, cursor: str | None = None, limit: int = DEFAULT_PAGE_SIZE,
                 where: HistoryFilter = HistoryFilter()) -> HistoryPage:
    """One page of the user's entries, newest first, after `cursor` if given."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = _filtered(user_id, where)
    if cursor:
        stamp, entry_id = _decode_entry_cursor(cursor)
        # a row comparison, so PostgreSQL starts the index scan at the cursor: O(page) at any
        # depth (the equivalent OR of two conditions scans from the newest entry down)
        query = query.where(Tuple(LedgerEntry.created_at, LedgerEntry.id) <
                            Tuple(LedgerEntry.created_at.to_value(stamp), entry_id))
    rows = list(query.order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
                .limit(limit + 1))
    if len(rows) > limit:
        return HistoryPage(items=rows[:limit], next_cursor=_entry_cursor(rows[limit - 1]))
    return HistoryPage(items=rows, next_cursor=None)


def iter_entries(user_id: int, *, where: HistoryFilter = HistoryFilter()) -> Iterator[LedgerEntry]:
    """Every matching entry, newest first, read in keyset chunks (for CSV export)."""
    cursor = None
    while True:
        page = list_entries(user_id, cursor=cursor, limit=EXPORT_CHUNK_SIZE, where=where)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def usage_per_day(user_id: int, *, days: int = 30, today: date | None = None) -> list[DailyUsage]:
    """Credits spent on usage per UTC day over the last `days` days (today included), oldest
    first, zero days included. Served by an index-only scan of (account, kind, created_at, …)."""
    today = today or utcnow().date()
    first = today - timedelta(days=days - 1)
    day = fn.date_trunc("day", LedgerEntry.created_at)
    rows = (LedgerEntry
            .select(day.alias("day"), fn.SUM(LedgerEntry.amount_credits).alias("total"),
                    fn.COUNT(LedgerEntry.id).alias("entries"))
            .where((LedgerEntry.account == user_id) & (LedgerEntry.kind == "usage") &
                   (LedgerEntry.created_at >= datetime.combine(first, datetime.min.time())))
            .group_by(day).tuples())
    spent = {_as_date(bucket): (-int(total), int(count)) for bucket, total, count in rows}
    return [DailyUsage(day=d, usage_credits=spent.get(d, (0, 0))[0],
                       entries=spent.get(d, (0, 0))[1])
            for d in (first + timedelta(days=i) for i in range(days))]


def _as_date(bucket: datetime | date | str) -> date:
    if isinstance(bucket, str):  # SQLite's date_trunc returns text
        return date.fromisoformat(bucket[:10])
    return bucket.date() if isinstance(bucket, datetime) else bucket

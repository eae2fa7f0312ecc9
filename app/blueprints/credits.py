"""Credits for the signed-in user: balance, history (JSON pages and CSV), usage, promo codes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Date, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import Response, stream_with_context

from app.blueprints.fields import BalanceOut, UtcDateTime
from app.models.ledger import KINDS, LedgerEntry
from app.security import current_principal, require_auth
from app.services import promo
from app.services.ledger import get_balance
from app.services.ledger.history import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    HistoryFilter,
    iter_entries,
    list_entries,
    usage_per_day,
)

bp = APIBlueprint("credits", __name__, tag="Credits", url_prefix="/api/credits")

CSV_COLUMNS = ("id", "created_at", "kind", "amount_credits", "balance_after_credits",
               "reference", "memo")


class HistoryFilterIn(Schema):
    kind = String(load_default=None, validate=OneOf(KINDS))
    since = UtcDateTime(data_key="from", load_default=None,
                        metadata={"description": "inclusive; ISO 8601 date or date-time (UTC "
                                                 "unless an offset is given)"})
    until = UtcDateTime(data_key="to", load_default=None, metadata={"description": "exclusive"})


class TransactionsIn(HistoryFilterIn):
    cursor = String(load_default=None, validate=Length(max=200),
                    metadata={"description": "next_cursor of the previous page"})
    limit = Integer(load_default=DEFAULT_PAGE_SIZE, validate=Range(min=1, max=MAX_PAGE_SIZE))


class EntryOut(Schema):
    id = Integer(required=True)
    created_at = UtcDateTime(required=True)
    kind = String(required=True)
    amount_credits = Integer(required=True, metadata={"description": "signed"})
    balance_after_credits = Integer(required=True)
    reference = String(required=True)
    memo = String(required=True)


class TransactionsOut(Schema):
    items = List(Nested(EntryOut), required=True)
    next_cursor = String(allow_none=True, required=True,
                         metadata={"description": "null on the last page"})


class UsageIn(Schema):
    days = Integer(load_default=30, validate=Range(min=1, max=366))


class DailyUsageOut(Schema):
    day = Date(required=True)
    usage_credits = Integer(required=True)
    entries = Integer(required=True)


class UsageOut(Schema):
    items = List(Nested(DailyUsageOut), required=True)


class RedeemIn(Schema):
    code = String(required=True, validate=Length(min=1, max=64))


class RedeemOut(BalanceOut):
    code = String(required=True)
    amount_credits = Integer(required=True)


def _filter(query: dict[str, Any]) -> HistoryFilter:
    return HistoryFilter(kind=query["kind"], since=query["since"], until=query["until"])


def _entry_out(entry: LedgerEntry) -> dict[str, Any]:
    return {"id": entry.id, "created_at": entry.created_at.replace(tzinfo=UTC),
            "kind": entry.kind, "amount_credits": entry.amount_credits,
            "balance_after_credits": entry.balance_after, "reference": entry.reference,
            "memo": entry.memo}


@bp.get("/balance")
@require_auth(api_key=True)
@bp.output(BalanceOut)
@bp.doc(summary="Your balance, what jobs in progress hold, and what is available")
def balance() -> dict[str, int]:
    return asdict(get_balance(current_principal().user.id))


@bp.get("/transactions")
@require_auth(api_key=False)
@bp.input(TransactionsIn, location="query", arg_name="query")
@bp.output(TransactionsOut)
@bp.doc(summary="Your ledger entries, newest first, a page at a time",
        description="Keyset pagination: pass `next_cursor` back as `cursor`. Pages stay stable "
                    "while new entries arrive. Filters: `kind`, `from` (inclusive), `to` "
                    "(exclusive).", responses=[200, 400, 422])
def transactions(query: dict[str, Any]) -> dict[str, Any]:
    page = list_entries(current_principal().user.id, cursor=query["cursor"],
                        limit=query["limit"], where=_filter(query))
    return {"items": [_entry_out(e) for e in page.items], "next_cursor": page.next_cursor}


@bp.get("/transactions.csv")
@require_auth(api_key=False)
@bp.input(HistoryFilterIn, location="query", arg_name="query")
@bp.doc(summary="Your ledger entries as CSV, newest first (same filters as the JSON list)",
        responses={200: {"description": "text/csv, one row per entry",
                         "content": {"text/csv": {"schema": {"type": "string"}}}}})
def transactions_csv(query: dict[str, Any]) -> Response:
    user_id, where = current_principal().user.id, _filter(query)
    filename = f"credits-{datetime.now(UTC).strftime('%Y%m%d')}.csv"
    return Response(stream_with_context(_csv_rows(user_id, where)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _csv_rows(user_id: int, where: HistoryFilter) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for count, entry in enumerate(iter_entries(user_id, where=where), start=1):
        row = _entry_out(entry)
        row["created_at"] = entry.created_at.isoformat() + "Z"
        writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(value: object) -> object:
    """Neutralise text a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/usage")
@require_auth(api_key=False)
@bp.input(UsageIn, location="query", arg_name="query")
@bp.output(UsageOut)
@bp.doc(summary="Credits you spent per UTC day, oldest first, days without usage included")
def usage(query: dict[str, Any]) -> dict[str, Any]:
    days = usage_per_day(current_principal().user.id, days=query["days"])
    return {"items": [asdict(day) for day in days]}


@bp.post("/redeem")
@require_auth(api_key=False, verified=True)
@bp.input(RedeemIn, arg_name="body")
@bp.output(RedeemOut)
@bp.doc(summary="Redeem a promo code (case-insensitive; once per user; verified e-mail "
                "needed)", responses=[200, 403, 404, 409, 410, 422])
def redeem(body: dict[str, str]) -> dict[str, Any]:
    result = promo.redeem_promo_code(current_principal().user.id, body["code"])
    movement = result.movement
    return {"code": result.code, "amount_credits": result.amount_credits,
            "balance": movement.balance, "held": movement.held, "available": movement.available}

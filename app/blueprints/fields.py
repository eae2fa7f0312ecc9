"""Schema fields and schemas shared by the JSON routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apiflask import Schema
from apiflask.fields import Integer
from marshmallow.fields import NaiveDateTime


class UtcDateTime(NaiveDateTime):
    """An ISO 8601 date-time as the naive UTC the database stores (a value without an offset
    is taken as UTC). Python's dates stop at the years 1 and 9999, so an offset can carry an
    edge value past them (`9999-12-31T23:59:59-14:00`): that is refused by name, not left to
    overflow in the view.

    Sent out with its offset (`2026-01-02T03:04:05+00:00`): RFC 3339's `date-time`, which the
    OpenAPI document promises, requires one."""

    default_error_messages = {"out_of_range": "Out of range: before the year 1 or after 9999 "
                                              "once converted to UTC."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(timezone=UTC, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except OverflowError:
            raise self.make_error("out_of_range") from None


class BalanceOut(Schema):
    balance = Integer(required=True, metadata={"description": "credits owned"})
    held = Integer(required=True, metadata={"description": "reserved by jobs in progress"})
    available = Integer(required=True, metadata={"description": "balance − held: spendable"})

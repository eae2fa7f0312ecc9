"""The periods the dashboard and the back office report on, and their buckets.

One day is the last 24 hours, in hours (the current hour included); 7 and 30 days are whole UTC
days, today's so far included. Every period starts on a bucket boundary, so a period's usage
reads `usage_daily` only for whole days: the retention cut-off is a midnight at least 31 days
back (`app.services.retention`), and the last 24 hours never reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from app.models.base import utcnow

PERIOD_DAYS = (1, 7, 30)
DEFAULT_DAYS = 7


@dataclass(frozen=True)
class Period:
    days: int
    since: datetime  # naive UTC, inclusive
    now: datetime
    bucket: Literal["hour", "day"]

    @property
    def starts(self) -> list[datetime]:
        """The start of every bucket, oldest first."""
        step = timedelta(hours=1) if self.bucket == "hour" else timedelta(days=1)
        count = 24 if self.bucket == "hour" else self.days
        return [self.since + step * i for i in range(count)]

    @property
    def first_day(self) -> date:
        """The first whole UTC day `usage_daily` may hold for this period."""
        return self.since.date() if self.since.time() == time() else self.since.date() + \
            timedelta(days=1)

    def label(self, start: datetime) -> str:
        return start.strftime("%Y-%m-%d %H:00") if self.bucket == "hour" else \
            start.strftime("%Y-%m-%d")

    @property
    def description(self) -> str:
        return "the last 24 hours" if self.bucket == "hour" else \
            f"the last {self.days} days (UTC, today included)"


def period(days: int, now: datetime | None = None) -> Period:
    """The period of `days` (one of PERIOD_DAYS) ending `now` (naive UTC)."""
    if days not in PERIOD_DAYS:
        raise ValueError(f"days must be one of {PERIOD_DAYS}")
    now = now or utcnow()
    if days == 1:
        return Period(days=1, since=now.replace(minute=0, second=0, microsecond=0)
                      - timedelta(hours=23), now=now, bucket="hour")
    first = datetime.combine(now.date() - timedelta(days=days - 1), time())
    return Period(days=days, since=first, now=now, bucket="day")


def bucket_start(value: datetime | date | str, bucket: str) -> datetime:
    """A `date_trunc` result as a naive datetime (SQLite's is text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    value = value.replace(tzinfo=None)
    return value.replace(minute=0, second=0, microsecond=0) if bucket == "hour" else \
        datetime.combine(value.date(), time())

"""Rows a web process read lately, reused for HUB_KEY_PRICE_CACHE_S by job requests.

Every job request reads its API key (with the owner) and its model's current price before it
places the hold: two round trips to PostgreSQL that, under load, each add a wait before the
first token (docs/benchmarks/). A job request may reuse what this process read in the last few
seconds instead, because nothing it does outlives that read unchecked: `job_open_checked`
(migration 010) compares, in the statement that places the hold, the key's stamp and the
price's with the rows as they are, and refuses a stale one (the request then reads both again;
see `app.jobs.opening`, which also authenticates the caller again from the database when
its key read was stale).

Only on PostgreSQL (SQLite's job open has no such check) and only for views that open a job;
every other read goes to the database. Per app, so an app built on another database never sees
another's rows.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app

from app.database import is_postgres
from app.services.runtime import current_settings


class RecentReads:
    """A map whose entries are forgotten `ttl_s` after they were put (0: keeps nothing)."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> Any | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return found[1]

    def put(self, key: Any, value: Any) -> None:
        if self.ttl_s > 0:
            self._entries[key] = (time.monotonic() + self.ttl_s, value)

    def forget(self, key: Any) -> None:
        self._entries.pop(key, None)


def recent_reads(kind: str) -> RecentReads | None:
    """This app's reads of `kind` ("api_keys", "prices"); None where none may be reused."""
    if not is_postgres():
        return None
    name = f"hub.recent_reads.{kind}"
    reads = current_app.extensions.get(name)
    if reads is None:
        reads = current_app.extensions[name] = RecentReads(
            current_settings().HUB_KEY_PRICE_CACHE_S)
    return reads

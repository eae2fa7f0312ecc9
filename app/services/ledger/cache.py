"""The balance cache: Redis when configured, none at all otherwise.

Every ledger write gives the account a new version (a random token) *after* its transaction
commits; a reader notes the version *before* it reads the database and tags what it caches
with that version.
A cached value is served only while its tag equals the current version, so a reader that
raced a write (read the old row, cached it after the write's bump) leaves behind a value
nobody will serve: a read after a write returns never shows the old balance. Versions live
far longer than cached values (`VERSION_TTL_S`), so a version cannot expire under a reader
that is still between its two steps. If Redis fails right after a commit, the stale value
lives at most `HUB_BALANCE_CACHE_TTL_S`. A bump goes through the writer it is given, if any:
a job request's pending writes send it at once and read its reply just before the response
leaves (`app.jobs.request_scope`).

Embedded mode has no cache: the operator CLI may write the same SQLite file from another
process, and a primary-key read of one row is cheap there anyway.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

import redis
import structlog
from flask import current_app

from app.extensions import db
from app.services.ledger.results import Balance
from app.services.runtime import current_redis, current_settings

log = structlog.get_logger(__name__)

DEFAULT_TTL_S = 60
VERSION_TTL_S = 7 * 24 * 3600
_EXTENSION_KEY = "ledger_balance_cache"


class CommandWriter(Protocol):
    """Sends a Redis command whose reply is read later (`app.jobs.request_scope.PendingWrites`)."""

    def send(self, client: redis.Redis, *command: Any) -> None: ...


class BalanceCache(Protocol):
    def get(self, user_id: int, load: Callable[[], Balance]) -> Balance: ...

    def invalidate(self, user_id: int, *, writer: CommandWriter | None = None) -> None: ...


class NoBalanceCache:
    """The embedded twin: always reads the database."""

    def get(self, user_id: int, load: Callable[[], Balance]) -> Balance:
        return load()

    def invalidate(self, user_id: int, *, writer: CommandWriter | None = None) -> None:
        return None


class RedisBalanceCache:
    """Two keys per account: `…:ver` (bumped by writers) and `…:val` ("version:balance:held")."""

    def __init__(self, client: redis.Redis, *, prefix: str, ttl_s: int = DEFAULT_TTL_S) -> None:
        self.client = client
        self.prefix = f"{prefix}ledger:balance:"
        self.ttl_s = ttl_s

    def get(self, user_id: int, load: Callable[[], Balance]) -> Balance:
        if db.in_transaction():  # it may see writes that never commit: read, never cache
            return load()
        try:
            version, cached = self.client.mget(f"{self.prefix}{user_id}:ver",
                                               f"{self.prefix}{user_id}:val")
        except redis.RedisError as exc:
            log.warning("balance_cache_unavailable", user_id=user_id, error=str(exc))
            return load()
        version = (version or b"0").decode()
        if cached is not None:
            tag, balance, held = cached.decode().split(":")
            if tag == version:
                return Balance.of(int(balance), int(held))
        value = load()
        self.store(user_id, version, value)
        return value

    def version(self, user_id: int) -> str:
        return (self.client.get(f"{self.prefix}{user_id}:ver") or b"0").decode()

    def store(self, user_id: int, version: str, value: Balance) -> None:
        """Cache `value`, read from the database after `version` was observed."""
        try:
            self.client.set(f"{self.prefix}{user_id}:val",
                            f"{version}:{value.balance}:{value.held}", ex=self.ttl_s)
        except redis.RedisError as exc:
            log.warning("balance_cache_store_failed", user_id=user_id, error=str(exc))

    def invalidate(self, user_id: int, *, writer: CommandWriter | None = None) -> None:
        """Bump the account's version: through `writer` if given (its reply read later), else
        at once."""
        key, version = f"{self.prefix}{user_id}:ver", os.urandom(8).hex()
        try:
            if writer is not None:
                writer.send(self.client, "SET", key, version, "EX", VERSION_TTL_S)
            else:
                self.client.set(key, version, ex=VERSION_TTL_S)
        except redis.RedisError as exc:  # the write is committed; the value TTL bounds staleness
            log.error("balance_cache_invalidate_failed", user_id=user_id, error=str(exc))


def build_balance_cache(client: redis.Redis | None, *, prefix: str,
                        ttl_s: int = DEFAULT_TTL_S) -> BalanceCache:
    """The one place the cache backend is chosen: Redis if configured, else none."""
    if client is None:
        return NoBalanceCache()
    return RedisBalanceCache(client, prefix=prefix, ttl_s=ttl_s)


def current_balance_cache() -> BalanceCache:
    cache = current_app.extensions.get(_EXTENSION_KEY)
    if cache is None:
        settings = current_settings()
        cache = build_balance_cache(current_redis(), prefix=settings.HUB_REDIS_PREFIX,
                                    ttl_s=settings.HUB_BALANCE_CACHE_TTL_S)
        current_app.extensions[_EXTENSION_KEY] = cache
    return cache

"""Revoked access-token ids, remembered until the token would have expired anyway.

An id is a token's `jti`, or `family_id(family)`: a whole refresh-token family's access tokens,
revoked when a reused refresh token shows the family was copied (or at logout). A check asks
about both at once (one Redis round trip).

Two twins behind one interface: Redis (shared by every web process) and in-process memory (the
embedded default). `build_revocation_list` picks one from the settings.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis
from flask import current_app

from app.config import Settings

EXTENSION_KEY = "hub_revocations"


class RevocationList(Protocol):
    def revoke(self, jti: str, *, expires_at: int) -> None: ...

    def is_revoked(self, *ids: str) -> bool:
        """Whether any of `ids` is revoked."""
        ...


def family_id(family: str) -> str:
    """The revocation id that stands for every access token of a refresh-token family."""
    return f"family:{family}"


class RedisRevocationList:
    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self._client = client
        self._prefix = f"{prefix}revoked-jti:"

    def revoke(self, jti: str, *, expires_at: int) -> None:
        ttl_s = max(1, expires_at - int(time.time()) + 1)
        self._client.set(self._prefix + jti, b"1", ex=ttl_s)

    def is_revoked(self, *ids: str) -> bool:
        return bool(self._client.exists(*(self._prefix + token_id for token_id in ids)))


class MemoryRevocationList:
    def __init__(self) -> None:
        self._until: dict[str, int] = {}
        self._lock = threading.Lock()

    def revoke(self, jti: str, *, expires_at: int) -> None:
        now = int(time.time())
        with self._lock:
            self._until = {k: v for k, v in self._until.items() if v >= now}
            self._until[jti] = expires_at

    def is_revoked(self, *ids: str) -> bool:
        now = int(time.time())
        with self._lock:
            return any(self._until.get(token_id, 0) >= now for token_id in ids)


def build_revocation_list(settings: Settings, client: redis.Redis | None) -> RevocationList:
    if client is None:
        return MemoryRevocationList()
    return RedisRevocationList(client, prefix=settings.HUB_REDIS_PREFIX)


def current_revocations() -> RevocationList:
    return current_app.extensions[EXTENSION_KEY]

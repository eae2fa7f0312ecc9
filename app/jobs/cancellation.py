"""Cancel requests that a running job's run (a worker's or a web one) checks between batches.

Two twins: a Redis key per job (shared by every process) and an in-process set (embedded).
"""

from __future__ import annotations

import threading

import redis
from flask import current_app

from app.services.runtime import current_runtime

FLAG_TTL_S = 24 * 3600


class RedisCancelFlags:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = f"{prefix}cancel:"

    def request(self, job_id: str) -> None:
        self._redis.set(self._prefix + job_id, b"1", ex=FLAG_TTL_S)

    def is_requested(self, job_id: str) -> bool:
        return bool(self._redis.exists(self._prefix + job_id))


class MemoryCancelFlags:
    def __init__(self) -> None:
        self._flags: set[str] = set()
        self._lock = threading.Lock()

    def request(self, job_id: str) -> None:
        with self._lock:
            self._flags.add(job_id)

    def is_requested(self, job_id: str) -> bool:
        return job_id in self._flags


def cancel_flags() -> RedisCancelFlags | MemoryCancelFlags:
    """The flags of this app, built once from its runtime."""
    flags = current_app.extensions.get("hub.cancel_flags")
    if flags is None:
        runtime = current_runtime()
        flags = MemoryCancelFlags() if runtime.redis is None else \
            RedisCancelFlags(runtime.redis, runtime.settings.HUB_REDIS_PREFIX)
        current_app.extensions["hub.cancel_flags"] = flags
    return flags

"""A Redis lock that one process holds at a time, with a time-to-live it must keep renewing.

Renewing and releasing check the holder and act in one Lua script, so a process never extends
or deletes a lock that another one took after its own expired (or after it was deleted).
"""

from __future__ import annotations

import redis

# KEYS[1] the lock, ARGV[1] the holder, ARGV[2] the time-to-live in ms
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class LeaderLock:
    """`key` held by `holder` for `ttl_s` after each successful `acquire` or `renew`.

    Every method raises `redis.RedisError` when Redis cannot be reached: the caller decides
    what that means (the scheduler takes it as "not the leader").
    """

    def __init__(self, client: redis.Redis, key: str, holder: str, *, ttl_s: float) -> None:
        self.client = client
        self.key = key
        self.holder = holder
        self.ttl_ms = int(ttl_s * 1000)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def acquire(self) -> bool:
        """Take the lock if it is free, or keep it if it is already ours."""
        if self.client.set(self.key, self.holder, nx=True, px=self.ttl_ms):
            return True
        return self.renew()

    def renew(self) -> bool:
        """Extend the lock if it is still ours; False if it expired, was deleted or taken."""
        return bool(self._renew(keys=[self.key], args=[self.holder, self.ttl_ms]))

    def release(self) -> bool:
        """Let the lock go (if it is still ours), so a stand-by need not wait for it to expire."""
        return bool(self._release(keys=[self.key], args=[self.holder]))

    def current_holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value

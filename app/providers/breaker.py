"""Circuit breakers per channel, shared by every worker: Redis, or in-process when embedded.

closed --N consecutive failures--> open --cool-down elapsed, one caller let through--> half_open
half_open --the probe succeeds--> closed;  half_open --the probe fails--> open (cool-down again)

While half-open only the probe may call; if the probe never reports (its worker died) another
caller becomes the probe after `probe_lease_s`. Times are wall-clock seconds passed in by the
caller, so every process agrees and tests drive time with a clock instead of sleeping.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass

import redis

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATE_TTL_S = 24 * 3600  # idle channels' state is forgotten after a day


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int
    cooldown_s: float
    probe_lease_s: float


class BreakerStore(ABC):
    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy

    @abstractmethod
    def allow(self, channel_id: str, now: float) -> bool:
        """May a request go to this channel now? In the open state after the cool-down, the
        first caller gets True and becomes the half-open probe."""

    @abstractmethod
    def record_success(self, channel_id: str) -> None:
        """The channel answered: close the breaker, reset the failure count."""

    @abstractmethod
    def record_failure(self, channel_id: str, now: float) -> str:
        """The channel failed; return the state after it."""

    @abstractmethod
    def state(self, channel_id: str) -> tuple[str, int]:
        """(state, consecutive failures), for operators and tests."""

    def states(self, channel_ids: list[str]) -> dict[str, str]:
        """Each channel's state, as `state` gives it, without claiming a probe (/metrics)."""
        return {channel_id: self.state(channel_id)[0] for channel_id in channel_ids}


@dataclass
class _Entry:
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    probe_until: float = 0.0


class MemoryBreakerStore(BreakerStore):
    """The in-process twin (embedded mode): the same state machine under a lock."""

    def __init__(self, policy: BreakerPolicy) -> None:
        super().__init__(policy)
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def allow(self, channel_id: str, now: float) -> bool:
        with self._lock:
            entry = self._entries.get(channel_id)
            if entry is None or entry.state == CLOSED:
                return True
            if entry.state == OPEN and now < entry.opened_at + self.policy.cooldown_s:
                return False
            if entry.state == HALF_OPEN and now < entry.probe_until:
                return False
            entry.state, entry.probe_until = HALF_OPEN, now + self.policy.probe_lease_s
            return True

    def record_success(self, channel_id: str) -> None:
        with self._lock:
            self._entries.pop(channel_id, None)

    def record_failure(self, channel_id: str, now: float) -> str:
        with self._lock:
            entry = self._entries.setdefault(channel_id, _Entry())
            entry.failures += 1
            if entry.state == HALF_OPEN or (entry.state == CLOSED and
                                            entry.failures >= self.policy.failure_threshold):
                entry.state, entry.opened_at = OPEN, now
            return entry.state

    def state(self, channel_id: str) -> tuple[str, int]:
        with self._lock:
            entry = self._entries.get(channel_id, _Entry())
            return entry.state, entry.failures


# KEYS[1] = the channel's hash; ARGV = now, cool-down, probe lease, ttl
_ALLOW = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 1 end
if state == 'closed' then return 3 end
local now = tonumber(ARGV[1])
if state == 'open' and now < tonumber(redis.call('HGET', KEYS[1], 'opened_at')) + tonumber(ARGV[2]) then
  return 0
end
if state == 'half_open' and now < tonumber(redis.call('HGET', KEYS[1], 'probe_until')) then
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', now + tonumber(ARGV[3]))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 2
"""
CLEAN, PROBE, COUNTING = 1, 2, 3  # allowed: no failure on record / as the probe / closed
# KEYS[1] = the channel's hash; ARGV = now, threshold, ttl
_FAILURE = """
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'half_open' or (state == 'closed' and failures >= tonumber(ARGV[2])) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', ARGV[1])
  state = 'open'
elseif not redis.call('HGET', KEYS[1], 'state') then
  redis.call('HSET', KEYS[1], 'state', 'closed')
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return state
"""


class RedisBreakerStore(BreakerStore):
    """Shared by every worker process: each transition is one atomic Lua script.

    A channel found with no failure on record is remembered as clean for CLEAN_FOR_S: until
    then `allow` answers without asking Redis, and a success has nothing to reset. On the
    gateway's path that is two Redis round trips fewer per request while a channel is healthy;
    the price is that an opening caused by other processes is seen here up to CLEAN_FOR_S late
    (this process's own failures are seen at once).
    """

    CLEAN_FOR_S = 1.0

    def __init__(self, policy: BreakerPolicy, client: redis.Redis, prefix: str) -> None:
        super().__init__(policy)
        self.client = client
        self.prefix = prefix
        self._allow = client.register_script(_ALLOW)
        self._failure = client.register_script(_FAILURE)
        self._clean_at: dict[str, float] = {}  # channel → when Redis last showed it clean

    def _key(self, channel_id: str) -> str:
        return f"{self.prefix}breaker:{channel_id}"

    def allow(self, channel_id: str, now: float) -> bool:
        clean_at = self._clean_at.get(channel_id)
        if clean_at is not None and 0 <= now - clean_at < self.CLEAN_FOR_S:
            return True
        verdict = int(self._allow(keys=[self._key(channel_id)],
                                  args=[repr(now), self.policy.cooldown_s,
                                        self.policy.probe_lease_s, STATE_TTL_S]))
        if verdict == CLEAN:
            self._clean_at[channel_id] = now
        else:
            self._clean_at.pop(channel_id, None)
        return bool(verdict)

    def record_success(self, channel_id: str) -> None:
        if channel_id not in self._clean_at:  # a failure, a probe or a count may be on record
            self.client.delete(self._key(channel_id))

    def record_failure(self, channel_id: str, now: float) -> str:
        self._clean_at.pop(channel_id, None)
        state = self._failure(keys=[self._key(channel_id)],
                              args=[repr(now), self.policy.failure_threshold, STATE_TTL_S])
        return state.decode() if isinstance(state, bytes) else str(state)

    def state(self, channel_id: str) -> tuple[str, int]:
        raw = self.client.hmget(self._key(channel_id), "state", "failures")
        state = raw[0].decode() if raw[0] else CLOSED
        return state, int(raw[1] or 0)

    def states(self, channel_ids: list[str]) -> dict[str, str]:
        """One round trip for every channel."""
        pipe = self.client.pipeline(transaction=False)
        for channel_id in channel_ids:
            pipe.hget(self._key(channel_id), "state")
        return {channel_id: raw.decode() if raw else CLOSED
                for channel_id, raw in zip(channel_ids, pipe.execute(), strict=True)}

"""Event streams on Redis Streams: XADD to append, blocking XREAD to follow, EXPIRE to end."""

from __future__ import annotations

import json
import threading
from typing import Any

import redis

from app.events.base import START, Event, EventStream, SentEvents, Watch
from app.events.fanout import StreamFanout, parse_stream_id
from app.redis_commands import SentCommands

# XADD, and give a new stream its safety expiry (a stream never finished still goes away)
_APPEND = """
local id = redis.call('XADD', KEYS[1], '*', 't', ARGV[1], 'd', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3], 'NX')
return id
"""


class RedisEventStream(EventStream):
    def __init__(self, client: redis.Redis, *, prefix: str, ttl_s: int,
                 max_ttl_s: int = 86_400) -> None:
        super().__init__(ttl_s=ttl_s, max_ttl_s=max_ttl_s)
        self._redis = client
        self._prefix = f"{prefix}events:"
        self._append = client.register_script(_APPEND)
        self._fanout = StreamFanout(client, wake_prefix=f"{prefix}fanout:", decode=self._decode)

    def _key(self, stream: str) -> str:
        return self._prefix + stream

    def append(self, stream: str, type: str, data: dict[str, Any] | None = None) -> str:
        self.check_type(type)
        payload = json.dumps(data or {}, separators=(",", ":"))
        # one command (a script), not a pipeline: this runs for every relayed delta
        event_id = self._append(keys=[self._key(stream)], args=[type, payload, self.max_ttl_s])
        return event_id.decode() if isinstance(event_id, bytes) else event_id

    def append_many(self, stream: str, events: list[tuple[str, dict[str, Any]]], *,
                    finish: bool = False) -> list[str]:
        for type, _data in events:
            self.check_type(type)
        key = self._key(stream)
        pipe = self._redis.pipeline(transaction=False)
        for type, data in events:
            pipe.xadd(key, {"t": type, "d": json.dumps(data or {}, separators=(",", ":"))})
        if finish:
            pipe.expire(key, self.ttl_s)
        else:
            pipe.expire(key, self.max_ttl_s, nx=True)
        replies = pipe.execute()[:len(events)]
        return [r.decode() if isinstance(r, bytes) else r for r in replies]

    def send_many(self, stream: str, events: list[tuple[str, dict[str, Any]]]) -> SentEvents:
        for type, _data in events:
            self.check_type(type)
        key = self._key(stream)
        commands: list[tuple[Any, ...]] = [
            ("XADD", key, "*", "t", type, "d", json.dumps(data or {}, separators=(",", ":")))
            for type, data in events]
        commands.append(("EXPIRE", key, self.max_ttl_s, "NX"))
        sent = SentCommands(self._redis, commands)

        def read_ids() -> list[str]:
            return [r.decode() if isinstance(r, bytes) else r
                    for r in sent.replies()[:len(events)]]

        return SentEvents(read_ids)

    def read(self, stream: str, after_id: str = START, *, timeout_s: float = 0.0,
             count: int = 1000) -> list[Event]:
        parse_stream_id(after_id)  # InvalidEventId for an id Redis never issues
        block_ms = int(timeout_s * 1000) if timeout_s > 0 else None
        reply = self._redis.xread({self._key(stream): after_id}, count=count, block=block_ms)
        if not reply:
            return []
        _key, entries = reply[0]
        return [self._decode(event_id, fields) for event_id, fields in entries]

    def watch(self, stream: str, after_id: str = START, *,
              wake: threading.Event | None = None) -> Watch:
        return self._fanout.subscribe(self._key(stream), after_id, wake=wake)

    def finish(self, stream: str) -> None:
        self._redis.expire(self._key(stream), self.ttl_s)

    def exists(self, stream: str) -> bool:
        return bool(self._redis.exists(self._key(stream)))

    @staticmethod
    def _decode(event_id: bytes | str, fields: dict[bytes, bytes]) -> Event:
        event_id = event_id.decode() if isinstance(event_id, bytes) else event_id
        return Event(event_id, fields[b"t"].decode(), json.loads(fields[b"d"]))

"""One Redis reader per process for every job stream its clients follow.

A WebSocket or SSE client following a job used to block on its own `XREAD` for a slice, then
check its client, then read again: two Redis round trips a second per socket, events or not,
which capped one web process at a few hundred watchers. Here a single thread blocks on one
`XREAD` over all the streams this process's clients follow (and a private wake-up stream, so a
newly followed job is read at once) and hands each entry to every subscriber of its stream. A
subscriber waits on a local `threading.Event`: an idle watcher costs no Redis traffic at all.

Entries are read once per process whatever the number of watchers of a job. A subscriber joining a
stream the reader already follows fetches what it missed (`XRANGE`) itself. The reader stops when
nothing is followed and starts again with the next subscriber. If Redis fails, every current
subscriber gets the error from its next `next()`, as its own `XREAD` would have raised it.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import redis
import structlog

from app.events.base import Event, InvalidEventId, Watch

log = structlog.get_logger(__name__)

BLOCK_MS = 2_000  # under the hub's Redis client's 5 s reply timeout (app.services.runtime)
COUNT = 1_000  # entries per stream per read; more wait for the next read
WAKE_TTL_S = 3_600
_STREAM_ID = re.compile(r"^(\d+)(?:-(\d+))?$")
_MAX_PART = 2**64 - 1


def parse_stream_id(event_id: str) -> tuple[int, int]:
    """`ms-seq` (or `ms`) as a pair that orders like Redis orders ids; raises InvalidEventId."""
    match = _STREAM_ID.match(event_id) if isinstance(event_id, str) else None
    if match is None:
        raise InvalidEventId(f"not an event id: {event_id!r}")
    ms, seq = int(match[1]), int(match[2] or 0)
    if ms > _MAX_PART or seq > _MAX_PART:
        raise InvalidEventId(f"not an event id: {event_id!r}")
    return ms, seq


class _Subscriber(Watch):
    def __init__(self, fanout: StreamFanout, key: str, after: tuple[int, int],
                 ready: threading.Event) -> None:
        self._fanout, self.key, self.after = fanout, key, after
        self.pending: deque[tuple[tuple[int, int], Event]] = deque()
        self.ready = ready  # may be the caller's too (a WebSocket's): set by either side
        self.error: Exception | None = None

    def next(self, timeout_s: float) -> list[Event]:
        if timeout_s > 0 and not self.pending and self.error is None:
            self.ready.wait(timeout_s)
        with self._fanout.lock:
            taken, error = list(self.pending), self.error
            self.pending.clear()
            self.ready.clear()
        if error is not None:
            raise error
        batch = []
        for position, event in taken:
            if position > self.after:  # a backlog and the reader's reads may overlap
                batch.append(event)
                self.after = position
        return batch

    def close(self) -> None:
        self._fanout.unsubscribe(self)


class _Followed:
    __slots__ = ("cursor", "subscribers")

    def __init__(self, cursor: tuple[int, int]) -> None:
        self.cursor = cursor
        self.subscribers: set[_Subscriber] = set()


class StreamFanout:
    """Follows Redis streams for this process's subscribers; see the module's docstring."""

    def __init__(self, client: redis.Redis, *, wake_prefix: str,
                 decode: Callable[[Any, dict], Event]) -> None:
        self._client = client
        self._decode = decode
        self._wake_key = f"{wake_prefix}{uuid.uuid4().hex}"
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self.lock = threading.Lock()
        self._followed: dict[str, _Followed] = {}
        self._thread: threading.Thread | None = None
        self._wake_cursor = "0-0"

    def subscribe(self, key: str, after_id: str, *,
                  wake: threading.Event | None = None) -> Watch:
        after = parse_stream_id(after_id)
        if os.getpid() != self._pid:  # a forked child: the parent's reader is not running here
            self._reset()
        with self.lock:
            followed = self._followed.get(key)
            fresh = followed is None
            if fresh:
                followed = self._followed[key] = _Followed(after)
            subscriber = _Subscriber(self, key, after, wake or threading.Event())
            followed.subscribers.add(subscriber)
            joined_at = followed.cursor
            start = self._thread is None
            if start:
                self._thread = threading.Thread(target=self._run, name="event-fanout",
                                                daemon=True)
        try:
            if start:
                self._thread.start()
            elif fresh:
                self._wake()
            if after < joined_at:
                self._catch_up(subscriber, joined_at)
        except BaseException:
            subscriber.close()
            raise
        return subscriber

    def unsubscribe(self, subscriber: _Subscriber) -> None:
        with self.lock:
            followed = self._followed.get(subscriber.key)
            if followed is not None:
                followed.subscribers.discard(subscriber)
                if not followed.subscribers:
                    del self._followed[subscriber.key]

    def following(self) -> int:
        """How many streams the reader follows (for tests and metrics)."""
        with self.lock:
            return len(self._followed)

    def _catch_up(self, subscriber: _Subscriber, joined_at: tuple[int, int]) -> None:
        """What the subscriber missed: after its id, through where the reader was when it joined."""
        ms, seq = subscriber.after
        entries = self._client.xrange(subscriber.key, min=f"({ms}-{seq}",
                                      max=f"{joined_at[0]}-{joined_at[1]}")
        backlog = [self._entry(event_id, fields) for event_id, fields in entries]
        with self.lock:
            subscriber.pending.extendleft(reversed(backlog))
            if backlog:
                subscriber.ready.set()

    def _wake(self) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.xadd(self._wake_key, {"w": "1"}, maxlen=10, approximate=True)
        pipe.expire(self._wake_key, WAKE_TTL_S)
        pipe.execute()

    def _entry(self, event_id: Any, fields: dict) -> tuple[tuple[int, int], Event]:
        event = self._decode(event_id, fields)
        return parse_stream_id(event.id), event

    def _run(self) -> None:
        while True:
            with self.lock:
                if not self._followed:
                    self._thread = None
                    return
                streams = {key: f"{followed.cursor[0]}-{followed.cursor[1]}"
                           for key, followed in self._followed.items()}
            streams[self._wake_key] = self._wake_cursor
            try:
                reply = self._client.xread(streams, count=COUNT, block=BLOCK_MS)
            except Exception as exc:  # noqa: BLE001 - every subscriber hears of it
                self._fail(exc)
                continue
            for raw_key, raw_entries in reply or ():
                key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
                if key == self._wake_key:
                    last = raw_entries[-1][0]
                    self._wake_cursor = last.decode() if isinstance(last, bytes) else last
                    continue
                entries = [self._entry(event_id, fields) for event_id, fields in raw_entries]
                self._deliver(key, entries)

    def _deliver(self, key: str, entries: list[tuple[tuple[int, int], Event]]) -> None:
        with self.lock:
            followed = self._followed.get(key)
            if followed is None or not entries:
                return
            followed.cursor = max(followed.cursor, entries[-1][0])
            for subscriber in followed.subscribers:
                subscriber.pending.extend(entries)
                subscriber.ready.set()

    def _fail(self, exc: Exception) -> None:
        with self.lock:
            if self._followed:
                log.warning("event_fanout_read_failed", error=repr(exc))
            for followed in self._followed.values():
                for subscriber in followed.subscribers:
                    subscriber.error = exc
                    subscriber.ready.set()
            self._followed.clear()

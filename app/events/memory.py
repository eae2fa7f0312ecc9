"""In-process event streams for the embedded mode (one process serves web and workers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from app.events.base import START, Event, EventStream, InvalidEventId, Watch


class _Stream:
    __slots__ = ("events", "expires_at")

    def __init__(self, expires_at: float) -> None:
        self.events: list[Event] = []
        self.expires_at = expires_at


class MemoryEventStream(EventStream):
    def __init__(self, *, ttl_s: int, max_ttl_s: int = 86_400,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(ttl_s=ttl_s, max_ttl_s=max_ttl_s)
        self._clock = clock
        self._streams: dict[str, _Stream] = {}
        self._changed = threading.Condition()
        self._wakes: dict[str, set[threading.Event]] = {}

    def append(self, stream: str, type: str, data: dict[str, Any] | None = None) -> str:
        self.check_type(type)
        with self._changed:
            self._purge_expired()
            entry = self._streams.get(stream)
            if entry is None:
                entry = self._streams[stream] = _Stream(self._clock() + self.max_ttl_s)
            event = Event(str(len(entry.events) + 1), type, dict(data or {}))
            entry.events.append(event)
            self._changed.notify_all()
            for wake in self._wakes.get(stream, ()):
                wake.set()
            return event.id

    def read(self, stream: str, after_id: str = START, *, timeout_s: float = 0.0,
             count: int = 1000) -> list[Event]:
        position = self._position(after_id)
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                entry = self._live(stream)
                events = entry.events[position:position + count] if entry else []
                remaining = deadline - time.monotonic()
                if events or remaining <= 0:
                    return events
                self._changed.wait(remaining)

    def watch(self, stream: str, after_id: str = START, *,
              wake: threading.Event | None = None) -> Watch:
        self._position(after_id)  # InvalidEventId for an id this twin never issues
        return _MemoryWatch(self, stream, after_id, wake or threading.Event())

    def _follow(self, stream: str, wake: threading.Event, following: bool) -> None:
        with self._changed:
            wakes = self._wakes.setdefault(stream, set())
            if following:
                wakes.add(wake)
            else:
                wakes.discard(wake)
                if not wakes:
                    del self._wakes[stream]

    def finish(self, stream: str) -> None:
        with self._changed:
            entry = self._streams.get(stream)
            if entry is not None:
                entry.expires_at = self._clock() + self.ttl_s

    def exists(self, stream: str) -> bool:
        with self._changed:
            return self._live(stream) is not None

    def _live(self, stream: str) -> _Stream | None:
        entry = self._streams.get(stream)
        if entry is not None and entry.expires_at <= self._clock():
            del self._streams[stream]
            return None
        return entry

    def _purge_expired(self) -> None:
        now = self._clock()
        for name in [n for n, s in self._streams.items() if s.expires_at <= now]:
            del self._streams[name]

    @staticmethod
    def _position(after_id: str) -> int:
        if not after_id.isdigit():
            raise InvalidEventId(f"not an event id: {after_id!r}")
        return int(after_id)


class _MemoryWatch(Watch):
    def __init__(self, events: MemoryEventStream, stream: str, after_id: str,
                 wake: threading.Event) -> None:
        self._events, self._stream, self._after, self._wake = events, stream, after_id, wake
        events._follow(stream, wake, True)

    def next(self, timeout_s: float) -> list[Event]:
        batch = self._events.read(self._stream, self._after)
        if not batch and timeout_s > 0:
            self._wake.wait(timeout_s)
            self._wake.clear()  # an append after this sets it again; the read below sees it
            batch = self._events.read(self._stream, self._after)
        if batch:
            self._after = batch[-1].id
        return batch

    def close(self) -> None:
        self._events._follow(self._stream, self._wake, False)

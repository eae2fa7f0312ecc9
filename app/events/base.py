"""The event-stream interface shared by the Redis and in-process twins."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EVENT_TYPES = frozenset({"status", "delta", "progress", "usage", "error", "done"})
START = "0"  # read from the beginning of a stream


class InvalidEventId(ValueError):
    """A client sent an event id this backend never issues."""


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "data": self.data}


class SentEvents:
    """Events sent to a stream whose ids are not read yet (`EventStream.send_many`)."""

    def __init__(self, read_ids: Callable[[], list[str]]) -> None:
        self._read_ids: Callable[[], list[str]] | None = read_ids
        self._ids: list[str] = []

    def confirm(self) -> list[str]:
        """Wait for the backend's answer: the events' ids (raises if it refused them)."""
        if self._read_ids is not None:
            read_ids, self._read_ids = self._read_ids, None
            self._ids = read_ids()
        return self._ids


class Watch(ABC):
    """A reader following one stream: each `next` returns the events after those it returned.

    `wake`, if given, is an event the watch sets when new events arrive and waits on: a caller
    that also waits for something else (a WebSocket's client messages) shares its own event, so
    either wakes it at once. Close the watch when done."""

    @abstractmethod
    def next(self, timeout_s: float) -> list[Event]:
        """The next events (oldest first), waiting up to `timeout_s` (or until `wake` is set)
        for the first one; possibly none."""

    @abstractmethod
    def close(self) -> None:
        """Stop following."""

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class EventStream(ABC):
    """Per-job append-only event logs that late or reconnecting readers can replay.

    Ids increase within a stream and are opaque to clients. A stream lives until
    `ttl_s` after `finish` (or `max_ttl_s` after its first event if it is never finished).
    """

    def __init__(self, *, ttl_s: int, max_ttl_s: int = 86_400) -> None:
        self.ttl_s = ttl_s
        self.max_ttl_s = max(max_ttl_s, ttl_s)

    @abstractmethod
    def append(self, stream: str, type: str, data: dict[str, Any] | None = None) -> str:
        """Add one event; return its id."""

    def append_many(self, stream: str, events: list[tuple[str, dict[str, Any]]], *,
                    finish: bool = False) -> list[str]:
        """Append several events in order (then `finish` the stream if asked); return their ids.

        Backends override this to send them together (one round trip on Redis)."""
        for type, _data in events:
            self.check_type(type)
        ids = [self.append(stream, type, data) for type, data in events]
        if finish:
            self.finish(stream)
        return ids

    def send_many(self, stream: str, events: list[tuple[str, dict[str, Any]]]) -> SentEvents:
        """`append_many`, except that the caller need not wait for the answer until it confirms.

        Once this returns the events are on their way in order (a backend over the network has
        written them to its socket: they arrive even if this process dies next). The caller must
        confirm before it appends anything else to the stream. This twin appends at once."""
        ids = self.append_many(stream, events)
        return SentEvents(lambda: ids)

    @abstractmethod
    def read(self, stream: str, after_id: str = START, *, timeout_s: float = 0.0,
             count: int = 1000) -> list[Event]:
        """Events after `after_id` (oldest first); wait up to `timeout_s` for the first one."""

    @abstractmethod
    def watch(self, stream: str, after_id: str = START, *,
              wake: threading.Event | None = None) -> Watch:
        """Follow `stream` from after `after_id` (raises InvalidEventId for an id never issued)."""

    @abstractmethod
    def finish(self, stream: str) -> None:
        """Mark the stream complete: it expires `ttl_s` from now."""

    @abstractmethod
    def exists(self, stream: str) -> bool:
        """Whether the stream still holds events."""

    @staticmethod
    def check_type(type: str) -> None:
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type!r}")

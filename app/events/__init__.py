"""Job event streams: append events to a job's stream, read them after an id (blocking).

Two twins behind one interface: `RedisEventStream` (Redis Streams; shared by every process) and
`MemoryEventStream` (in-process; the embedded default). `build_event_stream` picks one from the
settings.
"""

from __future__ import annotations

from app.events.base import EVENT_TYPES, Event, EventStream, InvalidEventId, Watch
from app.events.memory import MemoryEventStream
from app.events.redis_stream import RedisEventStream

__all__ = ["EVENT_TYPES", "Event", "EventStream", "InvalidEventId", "MemoryEventStream",
           "RedisEventStream", "Watch"]

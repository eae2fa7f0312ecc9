"""The consumer side of the pump: hand over whatever the producer has read, in batches.

The consumer blocks for the first item and hands it over at once with whatever else is already
waiting (the producer pauses meanwhile: `app.jobs.streaming.producer`). After that it
coalesces: when something arrives, it is handed over `coalesce_s` after the previous batch (or
at once, if that is already past) together with everything that arrived meanwhile, so a fast
provider's burst of tokens becomes a few events instead of one per token (fewer Redis writes,
reads and SSE/WebSocket frames), while a provider slower than the window is relayed chunk by
chunk with no added delay. The end of the stream (or an error) closes the window at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from app.jobs.streaming.producer import END, NOTHING, Failure, Feed, closes, start_producer

POLL_S = 0.25  # how often a blocked consumer re-checks (lets dramatiq's time limit interrupt it)


def pump(source: Callable[[], Iterable[Any]], *, stop: threading.Event,
         on_idle: Callable[[], None] | None = None,
         coalesce_s: float = 0.0) -> Iterator[list[Any]]:
    """Yield lists of items from `source()` (read on a producer thread); re-raise its error
    after the items before it.

    `on_idle` runs on the consumer's thread whenever nothing arrived for POLL_S (a lease
    heartbeat while the provider thinks about its first token).
    """
    feed = start_producer(source, stop=stop)
    try:
        yield from _batches(feed, on_idle=on_idle, coalesce_s=coalesce_s)
    finally:
        stop.set()


def _batches(feed: Feed, *, on_idle: Callable[[], None] | None,
             coalesce_s: float) -> Iterator[list[Any]]:
    last_handed_at: float | None = None
    while True:
        item = feed.take(POLL_S)
        if item is NOTHING:
            if on_idle is not None:
                on_idle()
            continue
        batch = [item]
        if last_handed_at is not None and not closes(item):
            # inside the window, sleep rather than wake for every chunk, then take it all
            remaining = last_handed_at + coalesce_s - time.monotonic()
            if remaining > 0:
                feed.ended.wait(remaining)  # the end of the stream closes the window
        while not closes(batch[-1]) and (item := feed.take()) is not NOTHING:
            batch.append(item)
        failure = next((b for b in batch if isinstance(b, Failure)), None)
        payload = [b for b in batch if not closes(b)]
        if payload:
            yield payload
            if last_handed_at is None:  # the consumer is back for more after the first
                feed.first_handed_on.set()
            last_handed_at = time.monotonic()
        if failure is not None:
            raise failure.error
        if batch[-1] is END:
            return

"""Pump a provider stream on its own thread and hand the consumer whatever has arrived.

The consumer blocks for the first item and hands it over at once with whatever else is already
waiting. After that it coalesces: a batch closes `coalesce_s` after the previous one was handed
over (or at once, if that is already past), so a fast provider's burst of tokens becomes a few
events instead of one per token (fewer Redis writes, reads and SSE/WebSocket frames), while a
provider slower than the window is relayed chunk by chunk with no added delay. The end of the
stream or an error closes a batch at once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_END = object()
POLL_S = 0.25  # how often a blocked consumer re-checks (lets dramatiq's time limit interrupt it)


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def pump(source: Callable[[], Iterable[Any]], *, stop: threading.Event,
         on_idle: Callable[[], None] | None = None,
         coalesce_s: float = 0.0) -> Iterator[list[Any]]:
    """Yield lists of items from `source()`; re-raise its error after the items before it.

    `on_idle` runs on the consumer's thread whenever nothing arrived for POLL_S (a lease
    heartbeat while the provider thinks about its first token).
    """
    items: queue.Queue = queue.Queue()

    def produce() -> None:
        try:
            for item in source():
                items.put(item)
                if stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 — handed to the consumer, which re-raises
            items.put(_Failure(exc))
        finally:
            items.put(_END)

    thread = threading.Thread(target=produce, name="provider-stream", daemon=True)
    thread.start()
    last_handed_at: float | None = None
    try:
        while True:
            try:
                first = items.get(timeout=POLL_S)
            except queue.Empty:
                if on_idle is not None:
                    on_idle()
                continue
            batch = [first]
            if last_handed_at is not None:
                _gather_until(items, batch, last_handed_at + coalesce_s)
            while True:
                try:
                    batch.append(items.get_nowait())
                except queue.Empty:
                    break
            done = _END in batch
            failure = next((b for b in batch if isinstance(b, _Failure)), None)
            payload = [b for b in batch if b is not _END and not isinstance(b, _Failure)]
            if payload:
                yield payload
                last_handed_at = time.monotonic()
            if failure is not None:
                raise failure.error
            if done:
                return
    finally:
        stop.set()


def _gather_until(items: queue.Queue, batch: list[Any], deadline: float) -> None:
    """Add arriving items to `batch` until `deadline` (monotonic) or the stream's end."""
    while batch[-1] is not _END and not isinstance(batch[-1], _Failure):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            batch.append(items.get(timeout=remaining))
        except queue.Empty:
            return

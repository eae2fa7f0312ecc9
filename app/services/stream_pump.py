"""Pump a provider stream on its own thread and hand the consumer whatever has arrived.

The consumer blocks for the first item, then also takes every item that is already waiting, so
deltas that arrive together are relayed as one event (fewer Redis writes and WebSocket frames)
while nothing is ever held back waiting for more.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_END = object()
POLL_S = 0.25  # how often a blocked consumer re-checks (lets dramatiq's time limit interrupt it)


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def pump(source: Callable[[], Iterable[Any]], *, stop: threading.Event,
         on_idle: Callable[[], None] | None = None) -> Iterator[list[Any]]:
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
    try:
        while True:
            try:
                first = items.get(timeout=POLL_S)
            except queue.Empty:
                if on_idle is not None:
                    on_idle()
                continue
            batch = [first]
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
            if failure is not None:
                raise failure.error
            if done:
                return
    finally:
        stop.set()

"""Pump a provider stream on its own thread and hand the consumer whatever has arrived.

The consumer blocks for the first item and hands it over at once with whatever else is already
waiting. The producer then pauses until the consumer has handed that first batch on and asks
for more (or FIRST_HANDOVER_WAIT_S passes): otherwise it would go on parsing a fast provider's
burst while holding the GIL, and every step between the first token and the caller (the event
append, the response headers, the first write) would wait for the interpreter to switch threads
(up to 5 ms each time).

After that it coalesces: when something arrives, it is handed over `coalesce_s` after
the previous batch (or at once, if that is already past) together with everything that arrived
meanwhile, so a fast provider's burst of tokens becomes a few events instead of one per token
(fewer Redis writes, reads and SSE/WebSocket frames), while a provider slower than the window is
relayed chunk by chunk with no added delay. The end of the stream (or an error) closes the
window at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_END = object()
POLL_S = 0.25  # how often a blocked consumer re-checks (lets dramatiq's time limit interrupt it)
FIRST_HANDOVER_WAIT_S = 0.05  # longest the producer pauses for the first batch's handover


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Mailbox:
    """A deque and an event: the producer's put costs no lock unless the consumer may be
    waiting (a `queue.Queue` takes a lock and notifies a condition on every chunk)."""

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._ready = threading.Event()
        self.ended = threading.Event()
        self.first_handed_on = threading.Event()

    def put(self, item: Any) -> None:
        self._items.append(item)
        if item is _END:
            self.ended.set()
        if not self._ready.is_set():
            self._ready.set()

    def wait(self, timeout_s: float) -> bool:
        return self._ready.wait(timeout_s)

    def take_all(self) -> list[Any]:
        self._ready.clear()  # before draining: an item put after this sets it again
        taken = []
        while self._items:
            taken.append(self._items.popleft())
        return taken


def _closed(batch: list[Any]) -> bool:
    return bool(batch) and (batch[-1] is _END or isinstance(batch[-1], _Failure))


def pump(source: Callable[[], Iterable[Any]], *, stop: threading.Event,
         on_idle: Callable[[], None] | None = None,
         coalesce_s: float = 0.0) -> Iterator[list[Any]]:
    """Yield lists of items from `source()`; re-raise its error after the items before it.

    `on_idle` runs on the consumer's thread whenever nothing arrived for POLL_S (a lease
    heartbeat while the provider thinks about its first token).
    """
    box = _Mailbox()

    def produce() -> None:
        try:
            for index, item in enumerate(source()):
                box.put(item)
                if index == 0:  # leave the GIL to the first token's way out (see above)
                    box.first_handed_on.wait(FIRST_HANDOVER_WAIT_S)
                if stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 — handed to the consumer, which re-raises
            box.put(_Failure(exc))
        finally:
            box.put(_END)

    thread = threading.Thread(target=produce, name="provider-stream", daemon=True)
    thread.start()
    last_handed_at: float | None = None
    try:
        while True:
            if not box.wait(POLL_S):
                if on_idle is not None:
                    on_idle()
                continue
            if last_handed_at is not None:
                # inside the window, sleep rather than wake for every chunk, then take it all
                remaining = last_handed_at + coalesce_s - time.monotonic()
                if remaining > 0:
                    box.ended.wait(remaining)  # the end of the stream closes the window
            batch = box.take_all()
            done = _closed(batch) and batch[-1] is _END
            failure = next((b for b in batch if isinstance(b, _Failure)), None)
            payload = [b for b in batch if b is not _END and not isinstance(b, _Failure)]
            if payload:
                yield payload
                if last_handed_at is None:  # the consumer is back for more after the first
                    box.first_handed_on.set()
                last_handed_at = time.monotonic()
            if failure is not None:
                raise failure.error
            if done:
                return
    finally:
        stop.set()

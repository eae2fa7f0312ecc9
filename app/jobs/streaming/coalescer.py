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
from collections.abc import Callable, Iterable, Iterator
from queue import Empty, SimpleQueue
from typing import Any

from app.services.reused_threads import ReusedThreads

_END = object()
_NOTHING = object()  # nothing arrived in time
POLL_S = 0.25  # how often a blocked consumer re-checks (lets dramatiq's time limit interrupt it)
FIRST_HANDOVER_WAIT_S = 0.05  # longest the producer pauses for the first batch's handover
_producers = ReusedThreads("provider-stream")


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _closes(item: Any) -> bool:
    return item is _END or isinstance(item, _Failure)


def _take(items: SimpleQueue, timeout_s: float | None = None) -> Any:
    """The next item (waiting up to `timeout_s`; None: not at all), or _NOTHING."""
    try:
        return items.get_nowait() if timeout_s is None else items.get(timeout=timeout_s)
    except Empty:
        return _NOTHING


def pump(source: Callable[[], Iterable[Any]], *, stop: threading.Event,
         on_idle: Callable[[], None] | None = None,
         coalesce_s: float = 0.0) -> Iterator[list[Any]]:
    """Yield lists of items from `source()`; re-raise its error after the items before it.

    `on_idle` runs on the consumer's thread whenever nothing arrived for POLL_S (a lease
    heartbeat while the provider thinks about its first token).
    """
    # A C-implemented queue: a put wakes a blocked get without the Python-level lock and
    # condition of `threading.Event`/`queue.Queue`, which cost more than the rest of a relayed
    # chunk's hand-over when a model streams a token every 20 ms.
    items: SimpleQueue = SimpleQueue()
    first_handed_on = threading.Event()
    ended = threading.Event()  # set once, with the last item: closes a coalescing window

    def produce() -> None:
        try:
            for index, item in enumerate(source()):
                items.put(item)
                if index == 0:  # leave the GIL to the first token's way out (see above)
                    first_handed_on.wait(FIRST_HANDOVER_WAIT_S)
                if stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 — handed to the consumer, which re-raises
            items.put(_Failure(exc))
        finally:
            items.put(_END)
            ended.set()

    _producers.run(produce)
    last_handed_at: float | None = None
    try:
        while True:
            item = _take(items, POLL_S)
            if item is _NOTHING:
                if on_idle is not None:
                    on_idle()
                continue
            batch = [item]
            if last_handed_at is not None and not _closes(item):
                # inside the window, sleep rather than wake for every chunk, then take it all
                remaining = last_handed_at + coalesce_s - time.monotonic()
                if remaining > 0:
                    ended.wait(remaining)  # the end of the stream closes the window
            while not _closes(batch[-1]) and (item := _take(items)) is not _NOTHING:
                batch.append(item)
            failure = next((b for b in batch if isinstance(b, _Failure)), None)
            payload = [b for b in batch if not _closes(b)]
            if payload:
                yield payload
                if last_handed_at is None:  # the consumer is back for more after the first
                    first_handed_on.set()
                last_handed_at = time.monotonic()
            if failure is not None:
                raise failure.error
            if batch[-1] is _END:
                return
    finally:
        stop.set()

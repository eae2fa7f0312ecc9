"""The producer side of the pump: a reused thread reads the provider's stream into a queue.

After the first item it pauses until the consumer has handed that first batch on and asks for
more (or FIRST_HANDOVER_WAIT_S passes): otherwise it would go on parsing a fast provider's
burst while holding the GIL, and every step between the first token and the caller (the event
append, the response headers, the first write) would wait for the interpreter to switch
threads. Measurements: docs/benchmarks/.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from queue import Empty, SimpleQueue
from typing import Any

from app.jobs.streaming.threads import ReusedThreads

END = object()  # the source is exhausted (or failed): always the last item
NOTHING = object()  # nothing arrived in time
FIRST_HANDOVER_WAIT_S = 0.05  # longest the producer pauses for the first batch's handover
_producers = ReusedThreads("provider-stream")


class Failure:
    """The source's error, handed to the consumer, which re-raises it after the items before."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def closes(item: Any) -> bool:
    """Whether `item` is the last one the producer hands over."""
    return item is END or isinstance(item, Failure)


class Feed:
    """What the producer hands over, and the two signals between it and the consumer."""

    def __init__(self) -> None:
        # A C-implemented queue: a put wakes a blocked get without the Python-level lock and
        # condition of `threading.Event`/`queue.Queue`, which cost more than the rest of a
        # relayed chunk's hand-over when a model streams a token every 20 ms.
        self.items: SimpleQueue = SimpleQueue()
        self.first_handed_on = threading.Event()  # set by the consumer after its first batch
        self.ended = threading.Event()  # set once, with the last item: closes a coalescing window

    def take(self, timeout_s: float | None = None) -> Any:
        """The next item (waiting up to `timeout_s`; None: not at all), or NOTHING."""
        try:
            return self.items.get_nowait() if timeout_s is None else \
                self.items.get(timeout=timeout_s)
        except Empty:
            return NOTHING


def start_producer(source: Callable[[], Iterable[Any]], *, stop: threading.Event) -> Feed:
    """Read `source()` on a reused thread into the returned feed, until it ends or `stop`."""
    feed = Feed()

    def produce() -> None:
        try:
            for index, item in enumerate(source()):
                feed.items.put(item)
                if index == 0:  # leave the GIL to the first token's way out (see above)
                    feed.first_handed_on.wait(FIRST_HANDOVER_WAIT_S)
                if stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 — handed to the consumer, which re-raises
            feed.items.put(Failure(exc))
        finally:
            feed.items.put(END)
            feed.ended.set()

    _producers.run(produce)
    return feed

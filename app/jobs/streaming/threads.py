"""Daemon threads kept for reuse, for the provider-stream producers
(`app.jobs.streaming.producer`).

Starting a thread per stream cost a clone, the interpreter's thread bootstrap and a handshake
with the new thread (`Thread.start` waits until it runs, which under load means waiting for the
GIL). An idle thread here takes the next call instead. `concurrent.futures.ThreadPoolExecutor`
would do the reuse, but its threads are joined at interpreter exit and its size is bounded: a
pump blocked on a silent provider would hold up a worker's shutdown, and a full pool would queue
a stream behind the others. These are daemon threads, started whenever none is idle, and an idle
one exits after IDLE_EXIT_S.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from queue import Empty, SimpleQueue

IDLE_EXIT_S = 60.0


class ReusedThreads:
    def __init__(self, name: str, *, idle_exit_s: float = IDLE_EXIT_S) -> None:
        self.name = name
        self.idle_exit_s = idle_exit_s
        self._calls: SimpleQueue[Callable[[], None]] = SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a call that nobody has handed one yet

    def run(self, call: Callable[[], None]) -> None:
        """Run `call` on an idle thread, or on a new one if none is idle."""
        with self._lock:
            if self._idle:
                self._idle -= 1
                self._calls.put(call)
                return
        threading.Thread(target=self._serve, args=(call,), name=self.name, daemon=True).start()

    @property
    def idle(self) -> int:
        return self._idle

    def _serve(self, call: Callable[[], None]) -> None:
        while True:
            # each call in a context of its own, as on a new thread: nothing one call bound
            # (Flask's app context, log fields) is seen by the next. A call handles its own
            # errors (the pump hands them to its consumer).
            contextvars.Context().run(call)
            with self._lock:
                self._idle += 1
            while True:
                try:
                    call = self._calls.get(timeout=self.idle_exit_s)
                    break
                except Empty:
                    with self._lock:
                        # a call may have been handed to this thread just as the wait ended
                        if self._calls.empty():
                            self._idle -= 1
                            return

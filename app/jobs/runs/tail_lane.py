"""First tokens first: in a web process, streams already flowing take turns for their later work.

A web run's work splits in two: everything before its caller's first token (authentication,
the hold, opening the provider's stream, the first delivery) and everything after (relaying
the later batches, settling, the closing events). When the machine runs out of CPU, the
interpreter lock is shared evenly among a process's threads, so every stream's later work slows
every new request's first token, the wait a chat user watches. Later work therefore takes a
turn: one step at a time per process (`turn`), the rest waiting, without holding the lock or
a core, until the step ahead finishes or `HUB_STREAM_TAIL_WAIT_MS` passes, then going ahead
anyway. Work before a first token never waits for a turn.

Only CPU work takes a turn: a step never holds it while it waits on its provider or writes to
its caller, so a slow provider or client never holds another stream back. Below saturation the
turn is almost always free (one uncontended lock per relayed batch). Only a web run's policy
takes turns (`app.jobs.runs.web`). Measurements: docs/benchmarks/.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app

from app.services.runtime import current_settings

EXTENSION_KEY = "hub_tail_lane"


class TailLane:
    """One turn at a time; a waiter gives up waiting after `wait_s` and goes ahead anyway."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self.waiting = 0  # steps waiting for their turn now
        self._turn = threading.Lock()  # C-implemented: a timed wait costs no Python-level polling
        self._counting = threading.Lock()

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """Run the block in this process's turn; yields whether the turn was had (False: the
        wait ran out, or the lane is off)."""
        if self.wait_s <= 0:
            yield False
            return
        had = self._turn.acquire(blocking=False) or self._wait_for_turn()
        try:
            yield had
        finally:
            if had:
                self._turn.release()

    def _wait_for_turn(self) -> bool:
        with self._counting:
            self.waiting += 1
        try:
            return self._turn.acquire(timeout=self.wait_s)
        finally:
            with self._counting:
                self.waiting -= 1


def current_tail_lane() -> TailLane:
    """This app's lane (one per process; HUB_STREAM_TAIL_WAIT_MS, 0: off)."""
    app = current_app._get_current_object()
    lane = app.extensions.get(EXTENSION_KEY)
    if lane is None:
        lane = app.extensions.setdefault(
            EXTENSION_KEY, TailLane(current_settings().HUB_STREAM_TAIL_WAIT_MS / 1000))
    return lane

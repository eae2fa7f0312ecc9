"""Renews the leases of web runs while their thread is blocked on a provider's first token.

A web run (`executor="web"`) reads its provider's stream on the request thread up to the first
delta, so nothing is handed between threads before the first token (under load each hand-off
waits for the GIL: docs/benchmarks/). While that thread waits, it cannot renew its lease: this
process's keeper does, for every such run, until the run's deadline. Past it the keeper lets the
lease run out and the reaper fails the job, as it would if the process had died.

The keeper knows only what it renews (`Renewable`), not the run itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import structlog
from flask import Flask, current_app

from app.services.runtime import current_settings

log = structlog.get_logger(__name__)

EXTENSION_KEY = "hub_lease_keeper"


class Renewable(Protocol):
    """A lease the keeper renews: a run's."""

    job_id: str
    deadline: float | None  # monotonic; past it the lease is left to run out

    def heartbeat(self) -> None:
        """Renew the lease (when due)."""


class LeaseKeeper:
    def __init__(self, app: Flask, tick_s: float) -> None:
        self._app = app
        self._tick_s = tick_s
        self._runs: dict[int, Renewable] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, run: Renewable) -> Iterator[None]:
        """Renew `run`'s lease (as its own heartbeat would) until the block exits."""
        with self._lock:
            self._runs[id(run)] = run
            if self._thread is None or not self._thread.is_alive():  # none yet, or forked
                self._thread = threading.Thread(target=self._loop, name="lease-keeper",
                                                daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._runs.pop(id(run), None)

    def _loop(self) -> None:
        while True:
            time.sleep(self._tick_s)
            with self._lock:
                runs = list(self._runs.values())
            if runs:
                with self._app.app_context():
                    for run in runs:
                        self._renew(run)

    @staticmethod
    def _renew(run: Renewable) -> None:
        if run.deadline is not None and time.monotonic() > run.deadline:
            return  # past its time limit: let the lease run out
        try:
            run.heartbeat()
        except Exception:  # noqa: BLE001 — the next tick tries again; the lease has slack
            log.exception("lease_renewal_failed", job_id=run.job_id)


def current_lease_keeper() -> LeaseKeeper:
    """This app's keeper (one per process), ticking at a sixth of the lease."""
    app = current_app._get_current_object()
    keeper = app.extensions.get(EXTENSION_KEY)
    if keeper is None:
        tick_s = min(max(current_settings().HUB_JOB_LEASE_S / 6, 0.1), 5.0)
        keeper = app.extensions.setdefault(EXTENSION_KEY, LeaseKeeper(app, tick_s))
    return keeper

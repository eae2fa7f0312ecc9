"""Embedded mode: Dramatiq worker threads and the periodic scheduler inside the web process.

Used when no broker is configured (the in-memory StubBroker), so `make run` is one process.
"""

from __future__ import annotations

import dramatiq
import structlog
from flask import Flask

from app.services.runtime import current_runtime

log = structlog.get_logger(__name__)


def start_embedded_worker(app: Flask) -> dramatiq.Worker:
    """Start consuming every queue of the in-memory broker on background threads."""
    with app.app_context():
        runtime = current_runtime()
    worker = dramatiq.Worker(runtime.broker,
                             worker_threads=runtime.settings.HUB_EMBEDDED_WORKER_THREADS,
                             worker_timeout=100)
    worker.start()
    log.info("embedded_worker_started", threads=runtime.settings.HUB_EMBEDDED_WORKER_THREADS)
    return worker

"""Start-up checks shared by the web and worker processes."""

from __future__ import annotations

import atexit

from flask import Flask

from app.migrations import PendingMigrations, ensure_migrated
from app.providers.registry import warm_up
from app.services.runtime import current_settings


def prepare_process(app: Flask, *, role: str) -> None:
    """Load the providers and tokenizers; refuse an out-of-date schema in production; start
    embedded workers when embedded.

    `role` is "web" or "worker". Exits with one line naming the command to run.
    """
    with app.app_context():
        settings = current_settings()
        warm_up()
    if settings.HUB_ENV == "production":
        try:
            ensure_migrated()
        except PendingMigrations as exc:
            raise SystemExit(f"refusing to start the {role} process: {exc}") from None
    if role == "web" and settings.broker_kind == "embedded" \
            and settings.HUB_EMBEDDED_WORKER_THREADS > 0:
        from app.embedded import start_embedded_worker
        from app.scheduler import start_background_scheduler

        atexit.register(start_embedded_worker(app).stop)
        start_background_scheduler(app)

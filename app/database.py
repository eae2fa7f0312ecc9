"""The peewee database: chosen from DATABASE_URL, opened and closed around every unit of work."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from flask import Flask
from peewee import Database, SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase

from app.config import Settings
from app.extensions import db

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never block the single writer
    "foreign_keys": 1,
    "busy_timeout": 10_000,  # ms: the CLI and the web process share one file
    "synchronous": "normal",
}


def build_database(settings: Settings) -> Database:
    """Return a peewee database for the configured URL (not yet connected)."""
    url = urlparse(settings.database_url)
    if url.scheme == "sqlite":
        path = Path(unquote(url.path))
        if str(path) != "/:memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    return PooledPostgresqlDatabase(
        unquote(url.path.lstrip("/")),
        host=url.hostname,
        port=url.port or 5432,
        user=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        max_connections=settings.HUB_DB_POOL_SIZE,
        timeout=settings.HUB_DB_POOL_TIMEOUT_S,
        stale_timeout=300,
        autorollback=True,
    )


def is_postgres() -> bool:
    return isinstance(db.obj, PooledPostgresqlDatabase)


def init_database(app: Flask, settings: Settings) -> None:
    """Bind the global proxy and open a connection per request, closed (returned) after it."""
    db.initialize(build_database(settings))

    @app.before_request
    def _open_connection() -> None:
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close_connection(_exc: BaseException | None) -> None:
        if not db.is_closed():
            db.close()

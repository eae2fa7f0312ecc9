"""The peewee database: chosen from DATABASE_URL, opened and closed around every unit of work."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import unquote, urlparse

from flask import Flask, current_app, request
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


class HubPooledPostgresqlDatabase(PooledPostgresqlDatabase):
    """peewee's pool, minus a `SELECT 1` on every check-out of a recently used connection.

    peewee pings each pooled connection as it hands it out: one extra round trip per request
    and per job. A connection returned less than `PING_AFTER_IDLE_S` ago, idle and not closed
    is handed out as it is (like SQLAlchemy's default); older ones are still pinged.

    A database restart cuts the idle connections too, recently used or not: once this pool
    sees the server gone (a connection comes back broken, or a new one cannot be opened), every
    idle one is pinged at its next check-out, so the requests after the restart get fresh
    connections (without this, each connection returned in the seconds before the restart
    failed one request after it).
    """

    PING_AFTER_IDLE_S = 10.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._returned_at: dict[int, float] = {}

    def _connect(self):
        try:
            return super()._connect()
        except Exception:
            self._returned_at.clear()  # the server is gone: ping every idle connection
            raise

    def _close(self, conn, close_conn: bool = False) -> None:
        if conn.closed:  # broken (the server went away): so, likely, are the idle ones
            self._returned_at.clear()
        else:
            self._returned_at[self.conn_key(conn)] = time.monotonic()
        super()._close(conn, close_conn)

    def _close_raw(self, conn) -> None:
        self._returned_at.pop(self.conn_key(conn), None)
        super()._close_raw(conn)

    def _is_closed(self, conn) -> bool:
        returned_at = self._returned_at.pop(self.conn_key(conn), None)
        if returned_at is not None and time.monotonic() - returned_at < self.PING_AFTER_IDLE_S \
                and not conn.closed and self._adapter.txn_status(conn) == self._adapter.txn_idle:
            return False
        return super()._is_closed(conn)


def build_database(settings: Settings) -> Database:
    """Return a peewee database for the configured URL (not yet connected)."""
    url = urlparse(settings.database_url)
    if url.scheme == "sqlite":
        path = Path(unquote(url.path))
        if str(path) != "/:memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    return HubPooledPostgresqlDatabase(
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


T = TypeVar("T")


class Twins(Generic[T]):
    """The PostgreSQL and the SQLite implementation of one interface, side by side.

    `current()` is the one for the database the proxy is bound to, chosen once per kind of
    database (tests bind PostgreSQL and SQLite apps in turn), so callers never branch on the
    dialect themselves.
    """

    def __init__(self, *, postgres: T, sqlite: T) -> None:
        self.postgres, self.sqlite = postgres, sqlite
        self._chosen: dict[type, T] = {}

    def current(self) -> T:
        kind = type(db.obj)
        chosen = self._chosen.get(kind)
        if chosen is None:
            chosen = self._chosen[kind] = \
                self.postgres if issubclass(kind, PooledPostgresqlDatabase) else self.sqlite
        return chosen


V = TypeVar("V", bound=Callable)


def opens_its_own_connection(view: V) -> V:
    """Skip the per-request connection for `view`: it reaches the database itself, when it
    needs to (peewee connects on first use). /readyz reports an unreachable database in its own
    shape, whether or not the pool had a connection to hand out; a job's WebSocket takes none
    while it waits for the client's auth message."""
    view._hub_own_connection = True  # type: ignore[attr-defined]
    return view


def release_connection() -> None:
    """Give this thread's pooled connection back before a long wait that needs none (a
    WebSocket following a job's events in Redis): held for the wait, each watcher would take
    one of HUB_DB_POOL_SIZE connections, and the next request would wait for the pool. The next
    query takes a connection again (peewee connects on first use)."""
    if not db.is_closed():
        db.close()


def init_database(app: Flask, settings: Settings) -> None:
    """Bind the global proxy and open a connection per request, closed (returned) after it."""
    db.initialize(build_database(settings))

    @app.before_request
    def _open_connection() -> None:
        view = current_app.view_functions.get(request.endpoint or "")
        if not getattr(view, "_hub_own_connection", False):
            db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close_connection(_exc: BaseException | None) -> None:
        if not db.is_closed():
            db.close()

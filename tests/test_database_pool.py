"""The PostgreSQL pool hands out recently returned connections without a ping, and still
discards a connection the server closed once it has been idle past the ping threshold."""

from __future__ import annotations

import threading
from urllib.parse import urlparse

import peewee
import psycopg2
import pytest

from app.database import HubPooledPostgresqlDatabase
from tests.conftest import ADMIN_URL, TEST_DATABASE_URL


def pool(ping_after_idle_s: float) -> HubPooledPostgresqlDatabase:
    url = urlparse(TEST_DATABASE_URL)
    database = HubPooledPostgresqlDatabase(url.path.lstrip("/"), host=url.hostname,
                                           port=url.port or 5432, user=url.username,
                                           max_connections=4)
    database.PING_AFTER_IDLE_S = ping_after_idle_s
    return database


def backend_pid(database: HubPooledPostgresqlDatabase) -> int:
    database.connect(reuse_if_open=True)
    try:
        return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    finally:
        database.close()


def terminate(pid: int) -> None:
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    conn.close()


def test_a_connection_returned_moments_ago_is_reused(migrated_database) -> None:
    database = pool(ping_after_idle_s=60)
    first = backend_pid(database)
    assert backend_pid(database) == first  # the same server connection, back from the pool
    database.close_all()


def test_an_idle_connection_the_server_closed_is_replaced(migrated_database) -> None:
    database = pool(ping_after_idle_s=0)  # every check-out pings, as after a long idle
    first = backend_pid(database)
    terminate(first)  # e.g. PostgreSQL restarted while the connection sat in the pool
    second = backend_pid(database)  # the ping finds it dead: a new connection, no error
    assert second != first
    database.close_all()


def test_once_a_connection_comes_back_broken_the_idle_ones_are_pinged(migrated_database) -> None:
    """A restart cuts every connection: the one that fails first tells the pool, and the
    request after it gets a live connection rather than another cut one."""
    database = pool(ping_after_idle_s=60)  # both are returned moments ago: no ping due
    both_open = threading.Barrier(2)
    pids: list[int] = []

    def use_one() -> None:  # two threads: two connections open at once, then both returned
        database.connect()
        pids.append(database.execute_sql("SELECT pg_backend_pid()").fetchone()[0])
        both_open.wait(timeout=10)
        database.close()

    threads = [threading.Thread(target=use_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for pid in pids:
        terminate(pid)  # as a restart of PostgreSQL would
    with pytest.raises(peewee.OperationalError):  # the first one out has no ping: it fails
        backend_pid(database)
    assert backend_pid(database) not in pids  # the next is pinged, found dead, replaced
    database.close_all()

"""Shared fixtures: a PostgreSQL database and a Redis key prefix of this run's own.

Each run creates `hub_test_<random>` on TEST_DATABASE_URL's server and drops it after, and uses
its own Redis key prefix and queue-name prefix, so two runs at once never collide. PostgreSQL
and Redis are required: a test run without them fails rather than skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse, urlunparse

import peewee
import psycopg2
import pytest
import redis as redis_lib

from app import create_app
from app.config import Settings, load_settings
from app.extensions import db
from tests.browser import launch_chromium

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]
TEST_DB_NAME = f"hub_test_{RUN_ID}"
REDIS_PREFIX = f"hubtest:{RUN_ID}:"
QUEUE_PREFIX = f"t{RUN_ID}."


# Two test processes (pytest-xdist, `-n 2` in pyproject.toml): most tests wait on servers,
# workers and browsers, so a second process uses the second core. Each process has its own
# RUN_ID, so its own database, Redis prefix and queue prefix. A file's tests stay in one process
# (its module fixtures are set up once); the files that start whole stacks (several web and
# worker processes each) run one after another in one process, so that two such stacks never
# compete for PostgreSQL's connections and the cores at once.
STACK_FILES = ("tests/faults/", "tests/test_load_smoke.py", "tests/test_benchmarks_smoke.py",
               "tests/ops/test_nginx_kit.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group("stacks" if path.startswith(STACK_FILES)
                                                else path))


def _with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


TEST_DATABASE_URL = _with_database(ADMIN_URL, TEST_DB_NAME)


def _admin_connection():
    try:
        conn = psycopg2.connect(ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.exit(f"PostgreSQL at {ADMIN_URL} is unreachable ({exc}); run `make test`", 3)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    conn = _admin_connection()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{TEST_DB_NAME}"')
    try:
        yield TEST_DATABASE_URL
    finally:
        if not db.is_closed():
            db.close()
        if db.obj is not None and hasattr(db.obj, "close_all"):
            db.obj.close_all()
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{TEST_DB_NAME}" WITH (FORCE)')
        conn.close()


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis_lib.ConnectionError as exc:
        pytest.exit(f"Redis at {REDIS_URL} is unreachable ({exc}); run `make test`", 3)
    yield client
    for key in client.scan_iter(match=f"{REDIS_PREFIX}*", count=1000):
        client.delete(key)
    client.close()


def make_settings(**overrides: object) -> Settings:
    """Settings for this run: its own database, Redis prefix and queue prefix."""
    base: dict[str, object] = {
        "HUB_ENV": "test",
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "DATABASE_URL": TEST_DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "BROKER_URL": "",
        "HUB_REDIS_PREFIX": REDIS_PREFIX,
        "HUB_QUEUE_PREFIX": QUEUE_PREFIX,
        "HUB_LOG_JSON": False,
    }
    base.update(overrides)
    return load_settings(**base)


@contextmanager
def sqlite_app(directory, **overrides: object) -> Iterator:
    """An app on a fresh, migrated SQLite database (the embedded shape; no Redis unless given),
    then the shared database proxy pointed back at this run's PostgreSQL."""
    from app import migrations

    app = create_app(make_settings(DATABASE_URL=f"sqlite:///{directory}/hub.sqlite3",
                                   **{"REDIS_URL": "", **overrides}))
    with app.app_context():
        migrations.upgrade()
    try:
        yield app
    finally:
        if not db.is_closed():
            db.close()
        create_app(make_settings())


@pytest.fixture(scope="session")
def migrated_database(postgres_database: str, redis_client: redis_lib.Redis) -> str:
    from app import migrations

    create_app(make_settings())
    migrations.upgrade()
    return postgres_database


_FK_EDGES = """
SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
WHERE c.contype = 'f' AND c.conrelid <> c.confrelid
"""
_RESTART_SEQUENCES = """
SELECT setval(format('%%I.%%I', schemaname, sequencename), 1, false) FROM pg_sequences
WHERE last_value IS NOT NULL AND sequencename NOT LIKE 'migratehistory%%'
"""


def _children_first(tables: list[str]) -> list[str]:
    """`tables` ordered so that a table comes before every table it references."""
    referenced: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in db.execute_sql(_FK_EDGES).fetchall():
        child, parent = child.strip('"'), parent.strip('"')
        if child in referenced and parent in referenced:
            referenced[child].add(parent)
    ordered: list[str] = []
    while referenced:
        leaves = sorted(t for t in referenced
                        if not any(t in parents for parents in referenced.values()))
        if not leaves:  # a cycle: keep the rest as they are (TRUNCATE … CASCADE below)
            return ordered + sorted(referenced)
        for t in leaves:
            ordered.append(t)
            del referenced[t]
    return ordered


def _truncate_all_tables() -> None:
    """Empty every table a test wrote to and restart every id sequence, as if all were truncated.

    Only tables holding rows are emptied, with DELETE, children first: on a test's few rows
    that is many times faster than a TRUNCATE, which costs file work per table (and CASCADE
    reaches every table that references one)."""
    with db.connection_context():
        tables = [t for t in db.get_tables() if t != "migratehistory"]
        if not tables:
            return
        probe = " UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)  # noqa: S608
        written = {row[0] for row in db.execute_sql(probe).fetchall()}
        if written:
            try:
                with db.atomic():
                    for table in _children_first(tables):
                        if table in written:
                            db.execute_sql(f'DELETE FROM "{table}"')  # noqa: S608
            except peewee.DatabaseError:
                quoted = ", ".join(f'"{t}"' for t in written)
                db.execute_sql(f"TRUNCATE {quoted} CASCADE")
        db.execute_sql(_RESTART_SEQUENCES)


@pytest.fixture
def settings(migrated_database: str) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings):
    application = create_app(settings)
    yield application
    _truncate_all_tables()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin_headers(app, settings) -> dict[str, str]:
    from tests.factories import auth_headers, create_user

    return auth_headers(create_user(role="admin"), settings.SECRET_KEY)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request) -> Iterator[None]:
    """Each test starts with empty rate-limit counters (they live in this run's Redis prefix)."""
    yield
    if "redis_client" in request.fixturenames or "migrated_database" in request.fixturenames \
            or "app" in request.fixturenames:
        client = request.getfixturevalue("redis_client")
        for key in client.scan_iter(match=f"{REDIS_PREFIX}limits*", count=1000):
            client.delete(key)


@pytest.fixture(autouse=True)
def _forget_cached_balances(redis_client: redis_lib.Redis) -> Iterator[None]:
    """Tables are truncated between tests and ids restart, so the ledger's cached balances
    (keyed by user id) must not outlive the test that cached them."""
    yield
    keys = list(redis_client.scan_iter(match=f"{REDIS_PREFIX}ledger:balance:*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(scope="session")
def browser():
    """One chromium for the whole run: Playwright's sync API allows one instance per thread,
    so a second `sync_playwright()` while another is open fails."""
    with launch_chromium() as chromium:
        yield chromium

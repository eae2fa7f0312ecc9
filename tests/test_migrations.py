"""Versioned migrations, the db CLI, and the refusal to start on a stale schema in production."""

from __future__ import annotations

import subprocess
import sys

import pytest
from peewee_migrate import Router

from app import create_app, migrations
from app.config import load_settings
from app.extensions import db
from app.runtime_checks import prepare_process
from tests.conftest import ADMIN_URL, RUN_ID, _admin_connection, _with_database, make_settings
from tests.workers import PROJECT_ROOT


@pytest.fixture
def empty_postgres(migrated_database):
    name = f"hub_test_{RUN_ID}_empty"
    conn = _admin_connection()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield _with_database(ADMIN_URL, name)
    if db.obj is not None and hasattr(db.obj, "close_all"):
        db.obj.close_all()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def test_production_refuses_pending_migrations_then_starts(empty_postgres) -> None:
    settings = load_settings(HUB_ENV="production", SECRET_KEY="p" * 40,
                             DATABASE_URL=empty_postgres, REDIS_URL="", BROKER_URL="",
                             HUB_MAIL_LOG_IN_PRODUCTION=True)
    app = create_app(settings)
    with pytest.raises(SystemExit) as info:
        prepare_process(app, role="worker")
    assert "run `flask db upgrade`" in str(info.value)
    assert "001_users" in str(info.value)

    with app.app_context():
        assert migrations.upgrade()[0] == "001_users"
        assert migrations.pending_migrations() == []
    prepare_process(app, role="worker")  # now it starts


def test_db_cli_on_a_fresh_sqlite_file(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/hub.sqlite3",
           "HUB_INSTANCE_DIR": str(tmp_path), "HUB_LOG_LEVEL": "WARNING"}

    def flask(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "flask", *args], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=60, check=False)

    status = flask("db", "status")
    assert status.returncode == 1
    assert "pending  001_users" in status.stdout
    upgrade = flask("db", "upgrade")
    assert upgrade.returncode == 0
    assert "applied" in upgrade.stdout and "001_users" in upgrade.stdout
    again = flask("db", "upgrade")
    assert "the schema is up to date" in again.stdout
    assert flask("db", "status").returncode == 0


MIGRATION_014 = "014_prompt_caching_usage"
COLUMNS_014 = {"jobs": {"cached_input_tokens", "cache_write_tokens", "reasoning_tokens",
                        "output_json"},
               "model_prices": {"cached_input_per_mtok_credits", "cache_write_per_mtok_credits"}}


def _columns(table: str) -> set[str]:
    return {column.name for column in db.get_columns(table)}


def _job_finish_source() -> str:
    return db.execute_sql("SELECT prosrc FROM pg_proc WHERE proname = 'job_finish'").fetchone()[0]


def _down_to_before_014() -> None:
    """Roll back the newest migrations until 014 is undone."""
    router = Router(db, migrate_dir=migrations.MIGRATIONS_DIR)
    while MIGRATION_014 in router.done:
        router.rollback()


def _assert_014_applied(postgres: bool) -> None:
    for table, columns in COLUMNS_014.items():
        assert columns <= _columns(table)
    if postgres:
        assert "cached_input_tokens = j.cached_input_tokens" in _job_finish_source()


def _assert_014_undone(postgres: bool) -> None:
    for table, columns in COLUMNS_014.items():
        assert not columns & _columns(table)
    if postgres:
        previous = _job_finish_source()
        assert "cached_input_tokens" not in previous
        assert "first_token_at = j.first_token_at" in previous  # 011's function is back


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_migration_014_goes_up_down_and_up_again(backend, request, tmp_path) -> None:
    if backend == "postgres":
        url = request.getfixturevalue("empty_postgres")
    else:
        url = f"sqlite:///{tmp_path}/hub.sqlite3"
    app = create_app(load_settings(HUB_ENV="test", SECRET_KEY="m" * 40, DATABASE_URL=url,
                                   REDIS_URL="", BROKER_URL=""))
    postgres = backend == "postgres"
    try:
        with app.app_context(), db.connection_context():
            migrations.upgrade()
            _assert_014_applied(postgres)

            _down_to_before_014()
            _assert_014_undone(postgres)
            assert MIGRATION_014 in migrations.pending_migrations()

            migrations.upgrade()
            _assert_014_applied(postgres)
    finally:
        if not db.is_closed():
            db.close()
        create_app(make_settings())


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_migration_016_adds_the_audio_rate_and_takes_it_back(backend, request, tmp_path) -> None:
    if backend == "postgres":
        url = request.getfixturevalue("empty_postgres")
    else:
        url = f"sqlite:///{tmp_path}/hub.sqlite3"
    app = create_app(load_settings(HUB_ENV="test", SECRET_KEY="m" * 40, DATABASE_URL=url,
                                   REDIS_URL="", BROKER_URL=""))
    name = "016_video_audio_price"
    try:
        with app.app_context(), db.connection_context():
            migrations.upgrade()
            assert "per_second_audio_credits" in _columns("model_prices")

            router = Router(db, migrate_dir=migrations.MIGRATIONS_DIR)
            while name in router.done:
                router.rollback()
            assert "per_second_audio_credits" not in _columns("model_prices")
            assert "per_second_credits" in _columns("model_prices")

            migrations.upgrade()
            assert "per_second_audio_credits" in _columns("model_prices")
    finally:
        if not db.is_closed():
            db.close()
        create_app(make_settings())


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_migration_018_adds_the_conversation_tables_and_takes_them_back(backend, request,
                                                                        tmp_path) -> None:
    if backend == "postgres":
        url = request.getfixturevalue("empty_postgres")
    else:
        url = f"sqlite:///{tmp_path}/hub.sqlite3"
    app = create_app(load_settings(HUB_ENV="test", SECRET_KEY="m" * 40, DATABASE_URL=url,
                                   REDIS_URL="", BROKER_URL=""))
    name, tables = "018_conversations", {"conversations", "conversation_messages"}
    try:
        with app.app_context(), db.connection_context():
            migrations.upgrade()
            assert tables <= set(db.get_tables())
            indexes = {i.name for i in db.get_indexes("conversation_messages")}
            assert "conversation_messages_pending" in indexes

            router = Router(db, migrate_dir=migrations.MIGRATIONS_DIR)
            while name in router.done:
                router.rollback()
            assert not tables & set(db.get_tables())

            migrations.upgrade()
            assert tables <= set(db.get_tables())
    finally:
        if not db.is_closed():
            db.close()
        create_app(make_settings())

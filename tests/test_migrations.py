"""Versioned migrations, the db CLI, and the refusal to start on a stale schema in production."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app import create_app, migrations
from app.config import load_settings
from app.extensions import db
from app.runtime_checks import prepare_process
from tests.conftest import ADMIN_URL, RUN_ID, _admin_connection, _with_database
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

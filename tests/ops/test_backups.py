"""`flask backup create|restore|list`: a filled database survives the round trip, on PostgreSQL
(pg_dump/pg_restore) and on the embedded SQLite file (SQLite's backup API).

A round trip fills a database through the hub's services (users, credits through the ledger, a
chat job opened and settled by the job store, a payment), backs it up with the CLI, restores it
into a fresh database and finds every table's row count equal and `flask ledger check` clean.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest

from app import create_app
from app.extensions import db
from app.jobs import api as jobs
from app.jobs.runs.ending import complete
from app.services import api_keys, ledger
from tests.conftest import (
    ADMIN_URL,
    RUN_ID,
    TEST_DATABASE_URL,
    _with_database,
    make_settings,
    sqlite_app,
)
from tests.factories import create_payment_flag, create_user

CHAT = jobs.ChatSpec(model="local-echo", messages=[{"role": "user", "content": "back me up"}],
                     max_tokens=50)
PASSWORD = "s3cret-Backup-pw"  # trust auth on the test server accepts any password


# --- helpers -------------------------------------------------------------------------------

def fill_database() -> dict[str, int]:
    """Users, credits, a key, a settled chat job and a payment, through the hub's services;
    returns each user's balance by e-mail. Needs an app context."""
    balances = {}
    for credits in (5_000_000, 750_000):
        user = create_user()
        ledger.credit(user.id, credits, kind="purchase", idempotency_key=f"buy:{user.id}")
        balances[user.email] = user.id
    owner = create_user()
    ledger.credit(owner.id, 10_000_000, kind="promo", idempotency_key=f"promo:{owner.id}")
    api_keys.create_key(owner, "backup test key")
    job = jobs.create_job(owner, CHAT, executor="web")
    complete(job.id, job.worker_token, outcome="succeeded", cost_credits=1234, error=None,
             fields={"input_tokens": 5, "output_tokens": 7})
    ledger.place_hold(owner.id, 300, idempotency_key=f"hold:{owner.id}", purpose="chat")
    create_payment_flag(owner)
    balances[owner.email] = owner.id
    return {email: ledger.get_balance(uid).balance for email, uid in balances.items()}


def pg_row_counts(url: str) -> dict[str, int]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = sorted(row[0] for row in cur.fetchall())
            counts = {}
            for table in tables:
                cur.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608  # nosec B608
                counts[table] = cur.fetchone()[0]
            return counts
    finally:
        conn.close()


def sqlite_row_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        tables = sorted(row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"))
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608
                for t in tables}
    finally:
        conn.close()


@contextmanager
def app_on(database_url: str, **overrides: object) -> Iterator:
    """An app on another database; the shared database proxy is pointed back at this run's
    PostgreSQL afterwards (the `app` fixture empties its tables through it)."""
    application = create_app(make_settings(DATABASE_URL=database_url, **overrides))
    try:
        yield application
    finally:
        if not db.is_closed():
            db.close()
        if hasattr(db.obj, "close_all"):
            db.obj.close_all()
        create_app(make_settings())


def balances_in(application, emails: list[str]) -> dict[str, int]:
    from app.models.users import User

    with application.app_context(), db.connection_context():
        return {email: ledger.get_balance(User.get(User.email == email).id).balance
                for email in emails}


def with_password(url: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)


def fake_tool(bin_dir: Path, name: str, script: str) -> Path:
    """An executable `name` in `bin_dir` (put first on the PATH by the test)."""
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


@pytest.fixture
def fresh_database(migrated_database) -> Iterator[str]:
    """An empty PostgreSQL database on the test server, dropped afterwards."""
    name = f"hub_test_{RUN_ID}_restore_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(ADMIN_URL, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def filled(app) -> dict[str, int]:
    with app.app_context(), db.connection_context():
        return fill_database()


# --- PostgreSQL ----------------------------------------------------------------------------

def test_a_filled_database_restored_into_a_fresh_one_is_the_same_and_its_ledger_clean(
        app, filled, fresh_database, tmp_path, monkeypatch) -> None:
    # Given pg_dump and pg_restore wrapped to record what they are given, and a hub whose
    # DATABASE_URL carries a password
    record = tmp_path / "argv.log"
    for tool in ("pg_dump", "pg_restore"):
        fake_tool(tmp_path / "bin", tool, f'echo "$0 $* PGPASSWORD=$PGPASSWORD" >> {record}\n'
                                          f'exec /usr/bin/{tool} "$@"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    backups_dir = tmp_path / "backups"

    with app_on(with_password(TEST_DATABASE_URL)) as hub:
        # When it is backed up, then restored into a fresh database
        created = hub.test_cli_runner().invoke(args=["backup", "create", str(backups_dir)])
        archives = sorted(backups_dir.iterdir())
        restored = hub.test_cli_runner().invoke(args=[
            "backup", "restore", str(archives[0]), "--database-url",
            with_password(fresh_database)])

    # Then the archive is one custom-format file, private to its owner, named for the UTC time
    assert created.exit_code == 0, created.output
    assert [a.name for a in archives] == [Path(created.output.split()[2]).name]
    assert archives[0].name.startswith("hub-") and archives[0].name.endswith("Z.dump")
    assert archives[0].read_bytes().startswith(b"PGDMP")
    assert stat.S_IMODE(archives[0].stat().st_mode) == 0o600
    assert restored.exit_code == 0, restored.output
    assert "schema up to date: no pending migrations" in restored.output
    assert PASSWORD not in created.output + restored.output
    assert "postgres:***@" in restored.output
    # the password reached the tools in their environment only, never on a command line
    calls = record.read_text().splitlines()
    assert any(c.startswith(f"{tmp_path}/bin/pg_dump --format=custom") for c in calls)
    assert any(c.startswith(f"{tmp_path}/bin/pg_restore --clean --if-exists --no-owner")
               for c in calls)
    assert all(c.split(" PGPASSWORD=")[0].count(PASSWORD) == 0 for c in calls)
    assert all(c.endswith(f"PGPASSWORD={PASSWORD}") for c in calls if "--version" not in c)
    # every table holds as many rows as the original, the ledger is clean and balances match
    original = pg_row_counts(TEST_DATABASE_URL)
    assert original["users"] == 3 and original["jobs"] == 1 and original["payments"] == 1
    assert original["ledger_entries"] >= 4 and original["usage_records"] == 1
    assert pg_row_counts(fresh_database) == original
    with app_on(fresh_database) as restored_hub:
        check = restored_hub.test_cli_runner().invoke(args=["ledger", "check"])
        assert balances_in(restored_hub, list(filled)) == filled
    assert check.exit_code == 0, check.output
    assert "checked 3 accounts" in check.output and "no violations" in check.output


def test_restore_refuses_a_target_holding_data_unless_told_yes(
        app, filled, fresh_database, tmp_path) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["backup", "create", str(tmp_path)], catch_exceptions=False)
    archive = str(next(tmp_path.glob("hub-*.dump")))
    first = runner.invoke(args=["backup", "restore", archive, "--database-url", fresh_database])
    with app.app_context(), db.connection_context():
        create_user(email="after-the-backup@example.com")  # only in the source database

    into_data = runner.invoke(args=["backup", "restore", archive, "--database-url",
                                    TEST_DATABASE_URL])
    again = runner.invoke(args=["backup", "restore", archive, "--database-url", fresh_database])
    confirmed = runner.invoke(args=["backup", "restore", archive, "--database-url",
                                    fresh_database, "--yes"])

    assert first.exit_code == 0, first.output
    assert into_data.exit_code == 1
    assert "already holds data" in into_data.output and "--yes" in into_data.output
    assert pg_row_counts(TEST_DATABASE_URL)["users"] == 4  # untouched
    assert again.exit_code == 1 and "already holds data" in again.output
    assert confirmed.exit_code == 0, confirmed.output
    assert pg_row_counts(fresh_database)["users"] == 3


def test_rotation_keeps_the_newest_archives_and_leaves_other_files_alone(app, tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("not a backup")
    with app_on(TEST_DATABASE_URL, HUB_BACKUP_DIR=tmp_path, HUB_BACKUP_KEEP=2) as hub:
        runner = hub.test_cli_runner()
        outputs = [runner.invoke(args=["backup", "create"]) for _ in range(3)]
        listed = runner.invoke(args=["backup", "list"])
        with_keep = runner.invoke(args=["backup", "create", "--keep", "1"])

    written = [Path(out.output.split()[2]).name for out in outputs]
    assert [out.exit_code for out in outputs] == [0, 0, 0]
    assert f"rotated away: {written[0]}" in outputs[2].output
    assert [line.split()[0] for line in listed.output.splitlines()] == written[:0:-1]
    assert with_keep.exit_code == 0
    newest = Path(with_keep.output.split()[2]).name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([newest, "notes.txt"])


def test_to_command_receives_the_whole_archive_and_its_name(app, filled, tmp_path) -> None:
    received = tmp_path / "bucket"
    received.mkdir()
    runner = app.test_cli_runner()

    stored = runner.invoke(args=["backup", "create", "--to-command",
                                 f'cat > "{received}/$HUB_BACKUP_NAME"'])
    refused = runner.invoke(args=["backup", "create", "--to-command",
                                  "cat > /dev/null; echo 'bucket is gone' >&2; exit 3"])

    assert stored.exit_code == 0, stored.output
    [archive] = received.iterdir()
    assert stored.output.startswith(f"backup {archive.name} ({archive.stat().st_size} bytes)")
    listing = subprocess.run(["pg_restore", "--list", str(archive)], capture_output=True,
                             text=True, check=True).stdout
    assert "TABLE DATA public users" in listing and "TABLE DATA public ledger_entries" in listing
    assert refused.exit_code == 1
    assert "the store command exited with status 3" in refused.output
    assert "bucket is gone" in refused.output


def test_an_unreachable_database_or_a_failing_dump_leaves_no_archive(
        app, tmp_path, monkeypatch) -> None:
    backups_dir = tmp_path / "backups"
    args = ["backup", "create", str(backups_dir)]
    with app_on(f"postgresql://nobody:{PASSWORD}@127.0.0.1:5432/postgres") as hub:
        no_role = hub.test_cli_runner().invoke(args=args)
    with app_on(f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/postgres") as hub:
        no_server = hub.test_cli_runner().invoke(args=args)
    # a pg_dump that writes half an archive and dies, and one older than the server
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "pg_dump", 'case "$1" in --version) exec /usr/bin/pg_dump --version;; '
                                  'esac\nfor a; do case "$a" in --file=*) '
                                  'printf PGDMP-half > "${a#--file=}";; esac; done\n'
                                  'echo "pg_dump: error: could not write: No space left" >&2\n'
                                  'exit 1\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    half = app.test_cli_runner().invoke(args=args)
    fake_tool(bin_dir, "pg_dump", 'echo "pg_dump (PostgreSQL) 11.22"\n')
    old = app.test_cli_runner().invoke(args=args)

    assert no_role.exit_code == 1 and 'role "nobody" does not exist' in no_role.output
    assert no_server.exit_code == 1 and "cannot connect to" in no_server.output
    assert PASSWORD not in no_role.output + no_server.output
    assert half.exit_code == 1
    assert "pg_dump failed (exit 1): pg_dump: error: could not write: No space left" \
        in half.output
    assert old.exit_code == 1
    assert "pg_dump is version 11 but the server runs PostgreSQL 15" in old.output
    assert list(backups_dir.iterdir()) == []  # not even a hidden partial file


# --- SQLite (the embedded default) ---------------------------------------------------------

def test_the_sqlite_round_trip_uses_the_online_backup_api(migrated_database, tmp_path) -> None:
    source_dir, target = tmp_path / "source", tmp_path / "restored" / "hub.sqlite3"
    with sqlite_app(source_dir, BROKER_URL="") as hub:
        with hub.app_context(), db.connection_context():
            balances = fill_database()
        runner = hub.test_cli_runner()
        created = runner.invoke(args=["backup", "create", str(tmp_path / "backups")])
        archive = str(next((tmp_path / "backups").glob("hub-*Z.sqlite3")))
        restored = runner.invoke(args=["backup", "restore", archive, "--database-url",
                                       f"sqlite:///{target}"])
        again = runner.invoke(args=["backup", "restore", archive, "--database-url",
                                    f"sqlite:///{target}"])
        into_postgres = runner.invoke(args=["backup", "restore", archive, "--database-url",
                                            TEST_DATABASE_URL, "--yes"])

    assert created.exit_code == 0, created.output
    assert restored.exit_code == 0, restored.output
    assert "schema up to date" in restored.output
    original = sqlite_row_counts(source_dir / "hub.sqlite3")
    assert original["users"] == 3 and original["jobs"] == 1 and original["payments"] == 1
    assert sqlite_row_counts(target) == original
    assert again.exit_code == 1 and "already holds data" in again.output
    assert into_postgres.exit_code == 1
    assert "is a sqlite archive; the target" in into_postgres.output
    with app_on(f"sqlite:///{target}", REDIS_URL="") as restored_hub:
        check = restored_hub.test_cli_runner().invoke(args=["ledger", "check"])
        assert balances_in(restored_hub, list(balances)) == balances
    assert check.exit_code == 0 and "checked 3 accounts" in check.output, check.output

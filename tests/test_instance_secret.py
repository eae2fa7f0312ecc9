"""A hub started without SECRET_KEY signs with a secret of its own, generated on first run into
the instance directory (mode 0600) and shared by every later process, never with a public one.
Production still refuses to start without SECRET_KEY."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from app import create_app, migrations
from app.config import PROJECT_ROOT, ConfigError, load_settings
from app.extensions import db
from app.security.instance_secret import KEY_FILE_NAME, instance_secret_key
from app.security.tokens import issue_access_token
from tests.conftest import make_settings
from tests.factories import create_user

# SECRET_KEY's built-in default before it was generated per installation: public.
OLD_PUBLIC_SECRET = "dev-insecure-secret-key-change-me"  # noqa: S105


@pytest.fixture
def no_secret_in_environment(monkeypatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)


def default_settings(instance_dir: Path, **overrides: object):
    """What `make run` reads with nothing set: the embedded hub in `instance_dir`."""
    return load_settings(_env_file=None, HUB_INSTANCE_DIR=instance_dir, DATABASE_URL="",
                         REDIS_URL="", BROKER_URL="", HUB_LOG_JSON=False, **overrides)


@contextmanager
def default_app(instance_dir: Path) -> Iterator:
    """An app made from default settings in `instance_dir`, its SQLite file migrated; then the
    shared database proxy pointed back at this run's PostgreSQL."""
    app = create_app(default_settings(instance_dir))
    with app.app_context():
        migrations.upgrade()
    try:
        yield app
    finally:
        if not db.is_closed():
            db.close()
        create_app(make_settings())


def forged_session_cookie(user) -> str:
    """A Flask session cookie signing `user` in, signed with the old public secret."""
    forger = Flask("forger")
    forger.secret_key = OLD_PUBLIC_SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    return serializer.dumps({"_user_id": f"{user.id}:{user.auth_version}", "_fresh": True})


def test_tokens_and_cookies_signed_with_the_old_public_default_are_refused(
        tmp_path, no_secret_in_environment, migrated_database) -> None:
    with default_app(tmp_path) as app:
        admin = create_user(role="admin")
        client = app.test_client()
        forged, _ = issue_access_token(admin.id, key=OLD_PUBLIC_SECRET)
        refused = client.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
        assert refused.status_code == 401
        assert refused.json["error"]["code"] == "unauthorized"

        client.set_cookie("hub_session", forged_session_cookie(admin))
        back_office = client.get("/admin/")
        assert back_office.status_code == 302
        assert back_office.headers["Location"].startswith("/login")

        genuine, _ = issue_access_token(admin.id, key=app.config["SECRET_KEY"])
        me = client.get("/api/me", headers={"Authorization": f"Bearer {genuine}"})
        assert me.status_code == 200 and me.json["role"] == "admin"


def test_the_secret_is_generated_once_private_and_reused(
        tmp_path, no_secret_in_environment, migrated_database) -> None:
    with default_app(tmp_path) as first:
        secret = first.config["SECRET_KEY"]
    path = tmp_path / KEY_FILE_NAME
    assert path.read_text().strip() == secret and len(secret) >= 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["hub.sqlite3", KEY_FILE_NAME]  # no draft left

    with default_app(tmp_path) as second:
        assert second.config["SECRET_KEY"] == secret
    other = tmp_path / "other"
    with default_app(other) as elsewhere:
        assert elsewhere.config["SECRET_KEY"] != secret


def _race(barrier, directories: list[str], results) -> None:
    for directory in directories:
        barrier.wait()
        try:
            results.put((directory, instance_secret_key(Path(directory))))
        except Exception as exc:  # noqa: BLE001 — reported to the test, which fails on it
            results.put((directory, f"raised {exc!r}"))


def test_processes_starting_at_once_agree_on_one_secret(tmp_path) -> None:
    processes, rounds = 4, 100
    directories = [str(tmp_path / f"round{n}") for n in range(rounds)]
    context = multiprocessing.get_context("fork")
    # A process that fails breaks the barrier for the others, so none waits for ever.
    barrier, results = context.Barrier(processes, timeout=30), context.Queue()
    workers = [context.Process(target=_race, args=(barrier, directories, results), daemon=True)
               for _ in range(processes)]
    seen: dict[str, set[str]] = {}
    try:
        for worker in workers:
            worker.start()
        for _ in range(processes * rounds):
            directory, secret = results.get(timeout=30)
            seen.setdefault(directory, set()).add(secret)
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    assert [worker.exitcode for worker in workers] == [0] * processes
    for directory in directories:
        on_disk = (Path(directory) / KEY_FILE_NAME).read_text().strip()
        assert seen[directory] == {on_disk}, directory
        assert os.listdir(directory) == [KEY_FILE_NAME]


def test_an_unusable_secret_file_stops_the_start_naming_it(tmp_path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("short\n")
    with pytest.raises(ConfigError, match=f"^SECRET_KEY: {tmp_path / KEY_FILE_NAME} holds no"):
        instance_secret_key(tmp_path)


def test_the_old_public_default_is_refused_as_a_setting(tmp_path) -> None:
    for env in ("development", "test", "production"):
        with pytest.raises(ConfigError, match="^SECRET_KEY: this is the old built-in default"):
            default_settings(tmp_path, HUB_ENV=env, SECRET_KEY=OLD_PUBLIC_SECRET)


def _flask(instance_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`flask …` as `make run` runs it, with nothing set but the instance directory."""
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT),
                   "HUB_INSTANCE_DIR": str(instance_dir), "HUB_LOG_JSON": "false", **env}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args],
                          cwd=instance_dir, env=environment, capture_output=True, text=True,
                          timeout=60, check=False)


def test_production_without_secret_key_refuses_to_start(tmp_path) -> None:
    result = _flask(tmp_path, "db", "status", HUB_ENV="production",
                    DATABASE_URL="postgresql://hub@127.0.0.1/hub")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == \
        "configuration error: SECRET_KEY: production needs a random secret of 32+ characters"
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_make_runs_commands_and_the_web_app_share_one_secret(
        tmp_path, no_secret_in_environment, migrated_database) -> None:
    upgrade = _flask(tmp_path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stderr.count("secret_key_generated") == 1
    assert str(tmp_path / KEY_FILE_NAME) in upgrade.stderr
    admin = _flask(tmp_path, "users", "ensure-admin", HUB_ADMIN_EMAIL="root@example.com",
                   HUB_ADMIN_PASSWORD="a long admin passphrase")
    assert admin.returncode == 0, admin.stderr
    key = _flask(tmp_path, "keys", "create", "root@example.com", "--name", "cli")
    assert key.returncode == 0, key.stderr
    assert "secret_key_generated" not in admin.stderr + key.stderr
    api_key = next(word for word in key.stdout.split() if word.startswith("hub_"))

    with default_app(tmp_path) as web:  # what gunicorn's wsgi:app builds
        balance = web.test_client().get("/api/credits/balance",
                                        headers={"Authorization": f"Bearer {api_key}"})
    assert balance.status_code == 200, balance.json  # the key's HMAC was made with one secret

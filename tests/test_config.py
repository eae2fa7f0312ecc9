"""Settings are validated at start: a bad value stops the process with one line naming it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.config import ConfigError, load_settings
from tests.conftest import make_settings


@pytest.mark.parametrize(("name", "value"), [
    ("DATABASE_URL", "mysql://localhost/hub"),
    ("DATABASE_URL", "postgresql:///nohost"),
    ("REDIS_URL", "http://localhost:6379"),
    ("BROKER_URL", "kafka://localhost"),
])
def test_malformed_url_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(**{name: value})
    assert str(info.value).startswith(f"{name}: ")


@pytest.mark.parametrize("secret", ["", "s" * 31])
def test_production_refuses_a_missing_or_short_secret_key(secret: str) -> None:
    with pytest.raises(ConfigError, match="^SECRET_KEY: production needs a random secret"):
        load_settings(HUB_ENV="production", SECRET_KEY=secret,
                      DATABASE_URL="postgresql://u@db/hub")


def test_production_needs_a_database_url() -> None:
    with pytest.raises(ConfigError, match="^DATABASE_URL: "):
        load_settings(HUB_ENV="production", SECRET_KEY="s" * 40)


def test_defaults_are_embedded(tmp_path) -> None:
    settings = load_settings(HUB_INSTANCE_DIR=tmp_path, DATABASE_URL="", REDIS_URL="",
                             BROKER_URL="")
    assert settings.database_url == f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    assert settings.broker_kind == "embedded"
    assert not settings.uses_redis


@pytest.mark.parametrize(("broker_url", "redis_url", "kind"), [
    ("amqp://guest:guest@127.0.0.1:5672/", "", "rabbitmq"),
    ("redis://127.0.0.1:6379/1", "", "redis"),
    ("", "redis://127.0.0.1:6379/2", "redis"),
])
def test_broker_is_chosen_from_urls(broker_url: str, redis_url: str, kind: str) -> None:
    assert load_settings(BROKER_URL=broker_url, REDIS_URL=redis_url).broker_kind == kind


def test_flask_cli_exits_with_one_clear_line() -> None:
    # run from the project root so the app package is importable
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "status"],
                            env={"DATABASE_URL": "mysql://nope", "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == \
        "configuration error: DATABASE_URL: must start with sqlite:/// or postgresql://"


def test_test_settings_point_at_this_runs_services() -> None:
    settings = make_settings()
    assert settings.broker_kind == "redis"
    assert settings.HUB_REDIS_PREFIX.startswith("hubtest:")

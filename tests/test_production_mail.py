"""Production refuses to start without a mail server: without SMTP_URL, verification codes and
password reset links would be written to the log. HUB_MAIL_LOG_IN_PRODUCTION=true opts in."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import ConfigError, load_settings

PRODUCTION = {"HUB_ENV": "production", "SECRET_KEY": "p" * 40,
              "DATABASE_URL": "postgresql://hub@db.internal/hub"}


def test_production_without_smtp_url_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(**PRODUCTION, SMTP_URL="")
    message = str(info.value)
    assert message.startswith("SMTP_URL: ") and "HUB_MAIL_LOG_IN_PRODUCTION=true" in message


def test_the_process_stops_with_one_clear_line(monkeypatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SMTP_URL", raising=False)
    with pytest.raises(SystemExit) as info:
        create_app()
    assert str(info.value).startswith("configuration error: SMTP_URL: production needs")


def test_production_starts_with_a_mail_server_or_the_explicit_opt_in() -> None:
    assert load_settings(**PRODUCTION, SMTP_URL="smtps://mail.example.com").SMTP_URL
    opted_in = load_settings(**PRODUCTION, SMTP_URL="", HUB_MAIL_LOG_IN_PRODUCTION=True)
    assert opted_in.SMTP_URL == "" and opted_in.HUB_MAIL_LOG_IN_PRODUCTION


def test_development_still_logs_mail_without_a_server() -> None:
    assert load_settings(HUB_ENV="development", SMTP_URL="").SMTP_URL == ""

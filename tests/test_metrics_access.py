"""Who may read /metrics: with HUB_METRICS_TOKEN set, only a caller sending it as a bearer token;
without it, anyone in development, and no one in production unless HUB_METRICS_PUBLIC=true
(the operator keeps /metrics on an internal address)."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import ConfigError
from tests.conftest import make_settings

TOKEN = "metrics-scraper-token-0123456789"
PRODUCTION = {"HUB_ENV": "production", "HUB_MAIL_LOG_IN_PRODUCTION": True}


def metrics_client(**overrides):
    return create_app(make_settings(**overrides)).test_client()


def _assert_served(response) -> None:
    assert response.status_code == 200
    assert "# TYPE hub_jobs_finished_total counter" in response.get_data(as_text=True)


def _assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert "# TYPE" not in response.get_data(as_text=True)


@pytest.mark.parametrize("env", [{}, PRODUCTION])
def test_a_token_is_required_when_set(migrated_database, env) -> None:
    client = metrics_client(HUB_METRICS_TOKEN=TOKEN, **env)
    missing = client.get("/metrics")
    _assert_error(missing, 401, "metrics_token_required")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    _assert_error(client.get("/metrics", headers={"Authorization": "Bearer not-the-token"}),
                  403, "metrics_token_invalid")
    _assert_error(client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}),
                  401, "metrics_token_required")
    _assert_served(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}))


def test_production_without_a_token_does_not_serve_metrics(migrated_database) -> None:
    _assert_error(metrics_client(**PRODUCTION).get("/metrics"), 404, "metrics_not_served")


def test_production_serves_them_openly_only_when_told(migrated_database) -> None:
    _assert_served(metrics_client(HUB_METRICS_PUBLIC=True, **PRODUCTION).get("/metrics"))


def test_development_serves_them_openly(migrated_database) -> None:
    _assert_served(metrics_client(HUB_ENV="development").get("/metrics"))


def test_a_short_token_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="^HUB_METRICS_TOKEN: "):
        make_settings(HUB_METRICS_TOKEN="short")

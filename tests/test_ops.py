"""Liveness, readiness, error shapes, request ids and the OpenAPI document."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from app import create_app
from tests.conftest import _truncate_all_tables, make_settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_reports_every_dependency(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok", "broker": "ok",
                                       "periodic_jobs": "ok"}


@pytest.fixture
def empty_tables(migrated_database) -> Iterator[None]:
    """No periodic-job rows left by another test, aged past due (tests/test_periodic_jobs.py)."""
    _truncate_all_tables()
    yield
    _truncate_all_tables()


def test_readyz_names_redis_when_it_is_down(empty_tables) -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    app = create_app(make_settings(REDIS_URL=url, BROKER_URL="amqp://guest:guest@127.0.0.1:5672/"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["error"]["code"] == "not_ready"
    assert "redis" in body["error"]["message"]
    assert body["error"]["details"]["checks"]["redis"].startswith("unreachable")
    assert body["error"]["details"]["checks"]["database"] == "ok"
    assert body["error"]["details"]["checks"]["broker"] == "ok"


def test_readyz_names_the_broker_when_rabbitmq_is_down(empty_tables) -> None:
    app = create_app(make_settings(BROKER_URL=f"amqp://guest:guest@127.0.0.1:{_closed_port()}/"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["error"]["message"] == "not ready: broker unreachable"


def test_readyz_names_the_database_when_no_connection_can_be_opened(empty_tables) -> None:
    # a process whose pool holds no connection (a fresh worker, or one whose connections a
    # PostgreSQL restart ended) still answers in /readyz's own shape, naming the database
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/x"
    try:
        client = create_app(make_settings(DATABASE_URL=url)).test_client()
        response = client.get("/readyz")
        alive, metrics = client.get("/healthz"), client.get("/metrics")
    finally:
        create_app(make_settings())  # the database proxy back on this run's database
    assert response.status_code == 503
    assert response.json["error"]["message"] == "not ready: database unreachable"
    checks = response.json["error"]["details"]["checks"]
    assert checks["database"].startswith("unreachable: OperationalError")
    assert checks["periodic_jobs"] == "not checked: the database is unreachable"
    assert (checks["redis"], checks["broker"]) == ("ok", "ok")
    # liveness and the metrics do not need the database: a restart would not help
    assert alive.status_code == 200 and metrics.status_code == 200
    assert b"# HELP hub_jobs_finished_total" in metrics.data


def test_a_request_needing_an_unreachable_redis_is_503_not_500(migrated_database) -> None:
    from tests.factories import auth_headers, create_user

    settings = make_settings(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    app = create_app(settings)
    headers = auth_headers(create_user(), settings.SECRET_KEY)  # checked against revocations
    response = app.test_client().get("/api/credits/balance", headers=headers)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "service_unavailable"
    assert "Redis" in response.json["error"]["message"]
    v1 = app.test_client().get("/v1/models", headers=headers)
    assert v1.status_code == 503 and v1.json["error"]["type"] == "server_error"


def test_a_request_needing_an_unreachable_database_is_503_not_500(migrated_database) -> None:
    settings = make_settings(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{_closed_port()}/x")
    try:
        response = create_app(settings).test_client().post(
            "/api/auth/login", json={"email": "a@example.com", "password": "x" * 12})
    finally:
        create_app(make_settings())  # the database proxy back on this run's database
    assert response.status_code == 503
    assert response.json["error"] == {
        "code": "service_unavailable",
        "message": "the hub cannot reach its database right now; try again shortly"}


def test_unknown_api_route_is_json_404(client) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.is_json
    assert response.json["error"]["code"] == "not_found"


def test_wrong_method_is_json_405_with_allow(client) -> None:
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_v1_errors_use_openai_shape(client) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert set(response.json["error"]) == {"message", "type", "param", "code"}


def test_v1_messages_errors_use_anthropic_shape(client) -> None:
    response = client.get("/v1/messages/nothing")
    assert response.json["type"] == "error"
    assert response.json["error"]["type"] == "not_found_error"


def test_oversized_body_is_json_413(app) -> None:  # refused before auth or parsing
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = app.test_client().post("/api/ops/worker-check", data=b"x" * 4096,
                                      content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_request_id_is_generated_and_echoed(client) -> None:
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] \
        == "abc-123"
    # a hostile id is replaced, never echoed
    hostile = "<script>" + "x" * 200
    assert client.get("/healthz", headers={"X-Request-ID": hostile}).headers["X-Request-ID"] != hostile


def test_openapi_document_lists_the_ops_routes(client) -> None:
    spec = client.get("/api/openapi.json").json
    assert spec["info"]["title"] == "Smart AI Hub API"
    for path in ("/healthz", "/readyz", "/metrics", "/api/ops/worker-check"):
        assert path in spec["paths"]


def test_docs_page_serves_local_assets(client) -> None:
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in page
    assert "cdn." not in page
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


def test_metrics_are_prometheus_text(client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert b"python_info" in response.data

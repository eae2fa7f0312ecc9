"""A request enqueues an actor, the actor appends events, the web side reads them: embedded,
and with real `dramatiq` worker processes on the Redis and RabbitMQ brokers."""

from __future__ import annotations

import pytest

from app import create_app
from app.embedded import start_embedded_worker
from tests.conftest import _truncate_all_tables, make_settings
from tests.factories import auth_headers, create_user
from tests.workers import dramatiq_workers


@pytest.fixture
def as_admin(migrated_database):
    settings = make_settings()
    yield auth_headers(create_user(role="admin"), settings.SECRET_KEY)
    _truncate_all_tables()


def test_embedded_round_trip(as_admin) -> None:
    app = create_app(make_settings(REDIS_URL="", BROKER_URL=""))
    assert type(app.extensions["hub"].broker).__name__ == "StubBroker"
    worker = start_embedded_worker(app)
    try:
        response = app.test_client().post("/api/ops/worker-check", headers=as_admin)
    finally:
        worker.stop()
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ok"
    assert response.json["queue_wait_ms"] >= 0


def test_no_worker_means_a_clear_504(as_admin) -> None:
    app = create_app(make_settings(REDIS_URL="", BROKER_URL=""))
    response = app.test_client().post("/api/ops/worker-check?timeout_s=0.2", headers=as_admin)
    assert response.status_code == 504
    assert response.json["error"]["code"] == "worker_timeout"


def test_worker_check_is_for_admins_only(client) -> None:
    assert client.post("/api/ops/worker-check").status_code == 401
    from tests.factories import create_user as make

    user_headers = auth_headers(make(), make_settings().SECRET_KEY)
    response = client.post("/api/ops/worker-check", headers=user_headers)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_bad_query_is_422_naming_the_field(client, admin_headers) -> None:
    response = client.post("/api/ops/worker-check?timeout_s=-1", headers=admin_headers)
    assert response.status_code == 422
    assert response.json["error"]["message"].startswith("timeout_s:")


@pytest.mark.slow
@pytest.mark.parametrize("broker_url", ["", "amqp://guest:guest@127.0.0.1:5672/"],
                         ids=["redis", "rabbitmq"])
def test_round_trip_through_worker_processes(as_admin, broker_url) -> None:
    settings = make_settings(BROKER_URL=broker_url)
    app = create_app(settings)
    with dramatiq_workers(settings):
        response = app.test_client().post("/api/ops/worker-check?timeout_s=30", headers=as_admin)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ok"

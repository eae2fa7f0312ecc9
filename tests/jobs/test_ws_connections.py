"""A job's WebSocket holds no database connection while it follows the job's events: a web
process holds as many watchers as it has threads, not as many as its pool has connections
(the load test's capacity measurement, docs/benchmarks/2026-12-04-load-test.md).

As in test_ws_security, no worker consumes this module's queue: the job stays `queued`, and
each socket's first event is its `queued` status."""

from __future__ import annotations

import httpx
import pytest

from app.extensions import db
from tests.conftest import QUEUE_PREFIX, make_settings
from tests.factories import auth_headers, create_user
from tests.jobs.conftest import chat_job, fund, token_of
from tests.jobs.test_ws_security import assert_sees_queued, connect, served

WATCHERS = 3


@pytest.fixture
def settings(migrated_database):
    # one pooled connection, and a short wait for it: a watcher holding it would starve the
    # next at once
    return make_settings(HUB_QUEUE_PREFIX=f"{QUEUE_PREFIX}idle-ws-pool.", HUB_DB_POOL_SIZE=1,
                         HUB_DB_POOL_TIMEOUT_S=1)


def test_watchers_leave_the_pool_to_the_next_request(app, client, settings) -> None:
    user = create_user()
    fund(app, user, 10_000_000)
    headers = auth_headers(user, settings.SECRET_KEY)
    job_id = chat_job(client, headers).json["id"]
    db.close()  # the test's own thread gives its connection back too
    with served(app) as base:
        sockets = []
        try:
            for _ in range(WATCHERS):  # each opens while the ones before it are watching
                sockets.append(connect(base, job_id, token=token_of(headers)))
                assert_sees_queued(sockets[-1])
            shown = httpx.get(f"{base}/api/jobs/{job_id}", headers=headers, timeout=10)
            assert shown.status_code == 200 and shown.json()["status"] == "queued"
        finally:
            for conn in sockets:
                conn.close()


def test_a_socket_awaiting_its_auth_message_leaves_the_pool_to_others(app, client,
                                                                      settings) -> None:
    user = create_user()
    fund(app, user, 10_000_000)
    headers = auth_headers(user, settings.SECRET_KEY)
    job_id = chat_job(client, headers).json["id"]
    db.close()
    with served(app) as base:
        silent = connect(base, job_id)  # open, and no auth sent (yet)
        try:
            watcher = connect(base, job_id, token=token_of(headers))
            assert_sees_queued(watcher)
            watcher.close()
            shown = httpx.get(f"{base}/api/jobs/{job_id}", headers=headers, timeout=10)
            assert shown.status_code == 200
        finally:
            silent.close()

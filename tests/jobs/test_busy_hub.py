"""A web process whose every database connection stays busy answers "try again" rather than
failing: 503 with Retry-After on HTTP, close 1013 on a job's WebSocket (the hub's pages reconnect
on it), and the request changes nothing."""

from __future__ import annotations

import json
import threading

import httpx
import websocket

from app import create_app
from app.extensions import db
from tests.conftest import _truncate_all_tables, make_settings
from tests.factories import auth_headers, create_job, create_user
from tests.ops.scrape import served


def test_a_hub_out_of_database_connections_says_try_again(migrated_database) -> None:
    app = create_app(make_settings(HUB_DB_POOL_SIZE=1, HUB_DB_POOL_TIMEOUT_S=0.2))
    with app.app_context():
        user = create_user()
        job_id = create_job(user).id
        headers = auth_headers(user, app.config["SECRET_KEY"])
    db.close()
    taken, release = threading.Event(), threading.Event()

    def hold_the_only_connection() -> None:
        db.connect()
        taken.set()
        release.wait(30)
        db.close()

    holder = threading.Thread(target=hold_the_only_connection)
    holder.start()
    try:
        assert taken.wait(10)
        with served(app) as url:
            answer = httpx.get(f"{url}/api/credits/balance", headers=headers, timeout=10)
            assert answer.status_code == 503
            assert answer.headers["Retry-After"] == "1"
            assert answer.json()["error"]["code"] == "service_unavailable"
            assert "busy" in answer.json()["error"]["message"]

            conn = websocket.create_connection(
                f"{url.replace('http', 'ws')}/ws/jobs/{job_id}", timeout=10)
            conn.send(json.dumps({"type": "auth", "token": headers["Authorization"][7:]}))
            opcode, data = conn.recv_data(control_frame=True)
            conn.close()
            assert opcode == websocket.ABNF.OPCODE_CLOSE
            assert int.from_bytes(data[:2], "big") == 1013
            assert b"busy" in data[2:]
    finally:
        release.set()
        holder.join(10)
    try:
        with served(app) as url:  # the connection back: served again
            assert httpx.get(f"{url}/api/credits/balance", headers=headers,
                             timeout=10).status_code == 200
    finally:
        _truncate_all_tables()

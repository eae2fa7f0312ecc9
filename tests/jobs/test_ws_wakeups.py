"""A job's WebSocket sleeps while its job is quiet, and wakes at once for what matters: a message
from its client, or its client leaving. (The longest sleep is HUB_WS_READ_SLICE_S; an answer
that waited for it would take that long.)"""

from __future__ import annotations

import json

import websocket

from tests.faults.services import wait_for
from tests.ops.scrape import idle_hub

SLEEP_S = 3.0


def test_pings_and_a_cancel_are_answered_at_once_while_the_job_is_quiet(
        migrated_database) -> None:
    with idle_hub(HUB_WS_READ_SLICE_S=SLEEP_S) as hub:
        job_id = hub.chat_job()  # no worker: it waits in the queue, its stream stays quiet
        conn = websocket.create_connection(
            f"{hub.url.replace('http', 'ws')}/ws/jobs/{job_id}", timeout=10)
        conn.send(json.dumps({"type": "auth", "token": hub.headers["Authorization"][7:]}))
        assert json.loads(conn.recv())["data"] == {"status": "queued"}
        conn.settimeout(SLEEP_S - 0.5)  # an answer that waited for the sleep times out
        for _ in range(3):
            conn.send(json.dumps({"type": "ping"}))
            assert json.loads(conn.recv()) == {"type": "pong"}
        conn.send(json.dumps({"type": "cancel"}))
        events = []
        while not events or events[-1]["type"] != "done":
            events.append(json.loads(conn.recv()))
        assert events[-1]["data"]["status"] == "canceled"
        conn.close()
        fanout = hub.app.extensions["hub"].events._fanout
        wait_for(lambda: fanout.following() == 0, timeout_s=10,
                 what="the closed socket's watch to end")

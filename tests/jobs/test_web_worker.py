"""The web process's worker (app.web_worker) as gunicorn runs it: kept-alive connections are
served whether their next request comes at once, in the same packet, or after the linger, and
a quiet connection gives its thread back."""

from __future__ import annotations

import http.client
import re
import runpy
import socket
from collections.abc import Iterator

import pytest

from tests.jobs.conftest import job_settings
from tests.workers import PROJECT_ROOT, hub_server

LINGER_MS = 150


@pytest.fixture(scope="module")
def one_thread_hub(migrated_database, fake_upstream_server) -> Iterator[int]:
    """A hub with ONE thread per process: a connection that kept its thread forever would
    starve every other one."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with hub_server(job_settings(), port, threads=1,
                    extra_env={"HUB_WEB_LINGER_MS": str(LINGER_MS)}):
        yield port


def _get(conn: http.client.HTTPConnection) -> tuple[int, bytes]:
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    return response.status, response.read()


def test_requests_back_to_back_on_one_connection_are_all_answered(one_thread_hub) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", one_thread_hub, timeout=5)
    conn.connect()
    local_port = conn.sock.getsockname()[1]
    answers = [_get(conn) for _ in range(5)]
    assert answers == [(200, b'{"status":"ok"}\n')] * 5
    assert conn.sock.getsockname()[1] == local_port  # the same connection throughout
    conn.close()


def test_requests_sent_in_one_packet_are_answered_in_order(one_thread_hub) -> None:
    request = (b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n"
               b"GET /nowhere HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", one_thread_hub), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", received) == [b"200", b"404"]


def test_a_quiet_kept_alive_connection_gives_its_thread_back(one_thread_hub) -> None:
    quiet = http.client.HTTPConnection("127.0.0.1", one_thread_hub, timeout=5)
    assert _get(quiet)[0] == 200  # its thread lingers on it, then returns to the pool
    other = http.client.HTTPConnection("127.0.0.1", one_thread_hub, timeout=5)
    assert _get(other)[0] == 200  # served by the only thread: the quiet one no longer holds it
    assert _get(quiet)[0] == 200  # and the quiet one is still served, from the poller
    other.close()
    quiet.close()


def test_a_process_accepts_a_connection_for_every_thread(monkeypatch) -> None:
    """gthread accepts at most `worker_connections` connections at once (gunicorn's default:
    1000), so a process given threads for more WebSockets must accept more than that."""
    monkeypatch.setenv("HUB_WEB_THREADS", "1500")
    conf = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    assert conf["threads"] == 1500
    assert conf["worker_connections"] > conf["threads"]

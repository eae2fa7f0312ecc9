"""What the hub's log says at its default level: its own lines, not each HTTP call the provider
SDKs make (the openai and anthropic SDKs send through httpx2, which logs every request at INFO)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2
import structlog

from app.log import configure_logging
from tests.conftest import make_settings


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 — the http.server hook's name
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_sdk_http_calls_are_not_logged_at_info(capsys) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        configure_logging(make_settings(HUB_LOG_LEVEL="info"))
        capsys.readouterr()
        with httpx2.Client() as sdk_http:
            assert sdk_http.get(f"http://127.0.0.1:{server.server_port}/v1/models").status_code == 200
        structlog.get_logger("app.test").info("hub_line")
        logged = capsys.readouterr().err
    finally:
        server.shutdown()
    assert "hub_line" in logged
    assert "HTTP Request" not in logged

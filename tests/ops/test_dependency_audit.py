"""The dependency audit says what it checked: against a local server speaking OSV's query API."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

VULNERABLE_PACKAGE = "flask"


class _Osv(BaseHTTPRequestHandler):
    """POST /v1/query {package: {name, ecosystem}, version} → {} or {vulns: [...]}."""

    def do_POST(self) -> None:  # noqa: N802 — http.server's naming
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = {}
        if query["package"]["name"] == VULNERABLE_PACKAGE:
            body = {"vulns": [{"id": "GHSA-test-0001", "summary": "test advisory",
                               "affected": [{"package": {"name": VULNERABLE_PACKAGE,
                                                         "ecosystem": "PyPI"},
                                             "ranges": [{"type": "ECOSYSTEM", "events": [
                                                 {"introduced": "0"}, {"fixed": "99.0"}]}]}]}]}
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def osv_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Osv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()
    server.server_close()


def _audit(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scripts.audit_dependencies", *args],
                          capture_output=True, text=True, timeout=300)


def test_a_vulnerable_package_fails_the_audit(tmp_path, osv_url) -> None:
    done = _audit(tmp_path, "--", "--vulnerability-service", "osv", "--osv-url", osv_url,
                  "--cache-dir", str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{VULNERABLE_PACKAGE} " in done.stdout and "GHSA-test-0001 (fixed in 99.0)" in done.stdout
    assert "1 known vulnerabilities" in done.stdout


def test_an_unreachable_source_is_not_reported_as_a_pass(tmp_path) -> None:
    unreachable = ["--", "--vulnerability-service", "osv", "--osv-url", "http://127.0.0.1:9/v1/query",
                   "--cache-dir", str(tmp_path), "--timeout", "2"]
    done = _audit(tmp_path, *unreachable)
    assert done.returncode == 0
    assert "dependency audit NOT PERFORMED" in done.stdout
    assert "No known vulnerabilities" not in done.stdout + done.stderr
    strict = _audit(tmp_path, "--require-source", *unreachable)
    assert strict.returncode == 2 and "NOT PERFORMED" in strict.stdout

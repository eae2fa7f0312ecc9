"""HTTP plumbing of the fake upstream's handler: JSON replies, chunked SSE, auth and faults.

Each route module (`openai_chat`, `anthropic_messages`, `openai_extra`) is a subclass of
`Plumbing`; the server's handler inherits them all.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tests.fake_upstream.server import FakeUpstream

StreamStyle = Literal["openai", "anthropic", "responses"]


@dataclass
class Fault:
    """One injected failure. kind: status | hang | cut | malformed | error_event."""

    kind: Literal["status", "hang", "cut", "malformed", "error_event"] = "status"
    status: int = 500
    retry_after: str | None = None
    after_chunks: int = 0  # for hang/cut/malformed/error_event inside a stream
    error_type: str = ""  # the vendor's error type/code in the body


class Plumbing(BaseHTTPRequestHandler):
    fake: FakeUpstream
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — quiet in tests
        pass

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            return _parse_multipart(raw, content_type)
        return json.loads(raw) if raw else None

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: str) -> None:
        raw = data.encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _cut(self) -> None:
        """Drop the connection in the middle of the chunked body."""
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)

    def _hang(self) -> None:
        self.fake._release.wait(self.fake.hang_s)
        self.close_connection = True

    def _pace(self, index: int, first_delay: bool = True) -> None:
        """Wait before streamed chunk `index`: `chunk_delay_s` between chunks, and
        `first_chunk_delay_s` before the first one (chat completions and responses only)."""
        if index and self.fake.chunk_delay_s:
            time.sleep(self.fake.chunk_delay_s)
        if first_delay and not index and self.fake.first_chunk_delay_s:
            time.sleep(self.fake.first_chunk_delay_s)

    def _error_status(self, fault: Fault, anthropic: bool) -> None:
        headers = {"retry-after": fault.retry_after} if fault.retry_after else {}
        message = f"injected {fault.status}"
        if anthropic:
            kind = fault.error_type or {429: "rate_limit_error", 529: "overloaded_error",
                                        401: "authentication_error"}.get(fault.status, "api_error")
            self._json(fault.status, {"type": "error", "error": {"type": kind,
                                                                 "message": message}}, headers)
        else:
            self._json(fault.status, {"error": {"message": message, "type": "server_error",
                                                "param": None, "code": fault.error_type or None}},
                       headers)

    def _authorized(self, anthropic: bool) -> bool:
        bearer = self.headers.get("Authorization") == f"Bearer {self.fake.api_key}"
        # Anthropic's SDK sends the key as x-api-key or as a bearer token, by version.
        ok = bearer or (anthropic and self.headers.get("x-api-key") == self.fake.api_key)
        if not ok:
            self._error_status(Fault(status=401, error_type="invalid_api_key"), anthropic)
        return ok

    def _pre(self, route: str, anthropic: bool) -> Fault | None:
        """Serve a pre-stream fault (status, or a hang before any chunk).

        Returns Fault(kind="status") when the request was answered, else the in-stream fault
        still to serve, if any."""
        fault = self.fake.take_fault(route)
        if fault and fault.kind == "status":
            self._error_status(fault, anthropic)
            return Fault(kind="status")
        if fault and fault.kind == "hang" and fault.after_chunks == 0:
            self._hang()
            return Fault(kind="status")
        return fault

    def _stream_fault(self, fault: Fault | None, index: int, style: StreamStyle) -> bool:
        """Serve an in-stream fault due before chunk `index`; True when the stream must end."""
        if fault is None or fault.after_chunks != index:
            return False
        if fault.kind == "cut":
            self._cut()
        elif fault.kind == "hang":
            self._hang()
            self._cut()
        elif fault.kind == "malformed":
            self._chunk(_MALFORMED[style])
            self._end_stream()
        elif fault.kind == "error_event":
            self._chunk(_ERROR_EVENT[style])
            self._end_stream()
        return True


_MALFORMED = {
    "openai": "data: {\"choices\": [ this is not json\n\n",
    "anthropic": "event: content_block_delta\ndata: {not json\n\n",
    "responses": "event: response.output_text.delta\ndata: {not json\n\n",
}
_ERROR_EVENT = {
    "openai": 'data: {"error": {"message": "injected error event", "type": "server_error"}}\n\n',
    "anthropic": 'event: error\ndata: {"type": "error", "error": {"type": '
                 '"overloaded_error", "message": "Overloaded"}}\n\n',
    "responses": 'event: error\ndata: {"type": "error", "code": "server_error", '
                 '"message": "injected error event", "param": null, "sequence_number": 0}\n\n',
}


def _parse_multipart(raw: bytes, content_type: str) -> dict[str, str]:
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
    fields: dict[str, str] = {}
    for part in raw.split(b"--" + boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        if b'name="' not in head:
            continue
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        value = value.removesuffix(b"\r\n")
        # a file part may be binary: latin-1 keeps its bytes (`.encode("latin-1")` gives them)
        fields[name] = value.decode("latin-1") if b"filename=" in head else value.decode()
    return fields

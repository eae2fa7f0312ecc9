"""Provider streams carried by urllib3, configured by the official SDK's client.

The SDKs build, send and read a streamed request through httpx's pure-Python HTTP stack, which
cost more than twice the CPU per stream of a urllib3 pool (C-buffered reads of the chunked body),
a large share of everything the hub does per request (figures and the decision:
docs/decisions/urllib3-for-chat-streams.md). So the chat adapters stream through this client; the SDK client still says where and how to call (base URL,
credentials and the vendor's headers, timeouts), and still makes every call that is not a stream.

Errors come back as the hub's kinds, with the same mapping as the SDKs' errors
(`app.providers.sdk_errors.from_status`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, ProtocolError, TimeoutError

from app.providers.errors import ProviderError, ProviderTimeout, ProviderUnavailable
from app.providers.sdk_errors import from_status
from app.providers.sse import sse_data

READ_SIZE = 65536
# Connections kept per channel: about the streams one web process runs at once.
POOL_SIZE = 128
ERROR_BODY_MAX = 65536


class StreamClient:
    """POST a JSON body and read the reply's server-sent events, on one pooled connection per
    concurrent stream (thread-safe; connections are kept alive between requests)."""

    def __init__(self, sdk_client: Any, *, provider: str) -> None:
        base_url = str(sdk_client.base_url)
        timeout = sdk_client.timeout
        self.provider = provider
        self._path = urlsplit(base_url).path.rstrip("/")
        headers = {**sdk_client.default_headers, **sdk_client.auth_headers}
        self._headers = {name: value for name, value in headers.items() if isinstance(value, str)}
        self._headers["Accept"] = "text/event-stream"
        self._pool = urllib3.connection_from_url(
            base_url, maxsize=POOL_SIZE, block=False, retries=False,
            timeout=urllib3.Timeout(connect=timeout.connect, read=timeout.read))

    @contextmanager
    def events(self, path: str, body: dict[str, Any]) -> Iterator[Iterator[Any]]:
        """The reply to `POST path`, one decoded `data:` payload per event, as they arrive.

        OpenAI's `[DONE]` ends the events; the body is still read to its end, so the connection
        is left to the next request (a TLS handshake saved, against the real API). A reply left
        part-read (the caller went away, the run was cancelled) closes its connection, which
        stops the upstream."""
        try:
            response = self._pool.urlopen(
                "POST", self._path + path, body=json.dumps(body).encode(), headers=self._headers,
                preload_content=False, redirect=False)
        except HTTPError as exc:
            raise self._transport_error(exc) from exc
        try:
            if response.status >= 300:
                raise self._status_error(response)
            yield self._decoded(response)
        finally:
            if not response.closed:  # part-read: this connection cannot carry another request
                response.close()
            response.release_conn()

    def _decoded(self, response: urllib3.BaseHTTPResponse) -> Iterator[Any]:
        def chunks() -> Iterator[bytes]:
            try:
                while chunk := response.read1(READ_SIZE):
                    yield chunk
            except HTTPError as exc:
                raise self._transport_error(exc) from exc

        payloads = sse_data(chunks())
        for payload in payloads:
            if payload == b"[DONE]":
                for _rest in payloads:  # only the body's terminator is left
                    pass
                return
            try:
                yield json.loads(payload)
            except ValueError as exc:
                raise ProviderUnavailable(
                    f"{self.provider}: malformed event in the response stream") from exc

    def _transport_error(self, exc: HTTPError) -> ProviderError:
        if isinstance(exc, TimeoutError) and not isinstance(exc, NewConnectionError):
            return ProviderTimeout(f"{self.provider}: the request timed out")
        if isinstance(exc, ProtocolError):
            return ProviderUnavailable(f"{self.provider}: the connection broke ({exc})"[:300])
        cause = exc.__context__ or exc
        return ProviderUnavailable(
            f"{self.provider}: connection failed ({type(cause).__name__}: {cause})"[:300])

    def _status_error(self, response: urllib3.BaseHTTPResponse) -> ProviderError:
        try:
            text = response.read(ERROR_BODY_MAX).decode("utf-8", "replace")
        except HTTPError:
            text = ""
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        inner = body.get("error", body) if isinstance(body, dict) else body
        message = inner.get("message") if isinstance(inner, dict) else None
        return from_status(response.status,
                           f"Error code: {response.status} - {message or text or 'no detail'}",
                           headers=response.headers, body=body, provider=self.provider)

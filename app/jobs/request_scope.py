"""Redis writes a request sends at once and confirms just before its response leaves.

A job request bumps the caller's balance-cache version right after its hold commits
(`app.services.ledger.cache`); waiting there for Redis's reply cost the `/v1` stream a round
trip before its first token (under load, milliseconds of waiting for the interpreter lock once
the reply is in). Sent without waiting, the command reaches Redis at once, while the request
goes on to the provider; its reply is read when the response is about to leave (`after_request`,
or at teardown if the request failed), so a caller who has any of the response already reads the
new version: the cache's read-after-write promise holds as before.

Only before the response starts: a write made later (a stream's settle, inside the response's
generator) waits for its reply as usual, and so does every write of a WebSocket session (its
view runs for as long as the socket is open).
"""

from __future__ import annotations

from typing import Any

import redis
import structlog
from flask import Flask, Response, g, has_request_context, request

from app.redis_commands import SentCommands

log = structlog.get_logger(__name__)


class PendingWrites:
    """Commands sent on their own pooled connections, replies not yet read."""

    def __init__(self) -> None:
        self._sent: list[tuple[SentCommands, tuple]] = []

    def send(self, client: redis.Redis, *command: Any) -> None:
        self._sent.append((SentCommands(client, [command]), command))

    def confirm(self) -> None:
        """Read every reply (a failed write is logged, as a synchronous one would have been)."""
        while self._sent:
            sent, command = self._sent.pop(0)
            try:
                sent.replies()
            except (redis.RedisError, OSError) as exc:
                log.error("redis_write_failed", command=command[0], key=command[1],
                          error=str(exc))


def pending_writes() -> PendingWrites | None:
    """This request's pending writes while its response has not started; None otherwise."""
    if not has_request_context() or g.get("hub_response_started") \
            or request.headers.get("Upgrade", "").lower() == "websocket":
        return None
    writes = g.get("hub_pending_writes")
    if writes is None:
        writes = g.hub_pending_writes = PendingWrites()
    return writes


def init_pending_writes(app: Flask) -> None:
    @app.after_request
    def _confirm_before_response(response: Response) -> Response:
        g.hub_response_started = True
        writes = g.get("hub_pending_writes")
        if writes is not None:
            writes.confirm()
        return response

    @app.teardown_request
    def _confirm_at_teardown(_exc: BaseException | None) -> None:
        writes = g.get("hub_pending_writes")
        if writes is not None:
            writes.confirm()

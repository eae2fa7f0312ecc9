"""What a request carries into the job core: when it started, and its pending Redis writes.

One `RequestScope` per HTTP request, built at the edge (`app.blueprints.request_scope`) and
passed explicitly into the calls that need it (`app.jobs.api.create_job`,
`app.jobs.output.start_output`); domain code never looks the request up.

Pending writes: a job request bumps the caller's balance-cache version right after its hold
commits (`app.services.ledger.cache`); waiting there for Redis's reply would cost the `/v1`
stream a round trip before its first token (docs/benchmarks/). Sent without waiting, the command
reaches Redis at once, while the request goes on to the provider; its reply is read when the
response is about to leave (or at teardown if the request failed), so a caller who has any of
the response already reads the new version: the cache's read-after-write promise holds.

Only before the response starts: a write made later (a stream's settle, inside the response's
generator) waits for its reply as usual, and so does every write of a WebSocket session (its
view runs for as long as the socket is open: its scope has no pending writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
import structlog

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


@dataclass
class RequestScope:
    started_at: float  # `time.perf_counter()` when the request arrived (the overhead metrics)
    writes: PendingWrites | None = None  # None: every write waits for its reply
    response_started: bool = False

    def pending_writes(self) -> PendingWrites | None:
        """Where a write may go without waiting for its reply: the request's pending writes
        while its response has not started; None otherwise."""
        return None if self.response_started else self.writes

    def before_response(self) -> None:
        """The response is about to leave: read every pending reply; later writes wait."""
        self.response_started = True
        self.confirm()

    def confirm(self) -> None:
        if self.writes is not None:
            self.writes.confirm()

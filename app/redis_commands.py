"""Redis commands written now, their replies read later (`SentCommands`).

Used where the hub wants a write on its way to Redis before it goes on, without waiting for the
answer yet: a `/v1` stream's mirror (`app.events.RedisEventStream.send_many`) and a request's
balance-cache bumps (`app.jobs.request_scope`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis


class SentCommands:
    """Commands written in order on one connection taken from `client`'s pool; the connection
    is the caller's until `replies` (which gives it back, whatever happens) is called."""

    def __init__(self, client: redis.Redis, commands: Sequence[tuple[Any, ...]]) -> None:
        self._pool = client.connection_pool
        self._count = len(commands)
        self._connection = self._pool.get_connection()
        try:
            self._connection.send_packed_command(self._connection.pack_commands(commands))
        except BaseException:
            self._give_back(broken=True)
            raise

    def replies(self) -> list[Any]:
        """Read one reply per command; raises (the first error reply, or the connection's
        failure) after giving the connection back, dropped if replies may be left unread."""
        try:
            replies = [self._connection.read_response() for _ in range(self._count)]
        except BaseException:
            self._give_back(broken=True)
            raise
        self._give_back(broken=False)
        return replies

    def _give_back(self, *, broken: bool) -> None:
        if broken:
            self._connection.disconnect()
        self._pool.release(self._connection)

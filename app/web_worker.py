"""The web process's gunicorn worker: gthread, with a busy kept-alive connection kept on its thread.

gunicorn's gthread worker hands a kept-alive connection back to its main thread after every
response: the main thread registers it with its poller, wakes when the next request arrives and
submits it to the thread pool again. Three threads touch each request before the app sees it,
and under load each waits its turn for the interpreter lock; removing the hops cut both the
added time to first token and the CPU per request (figures:
docs/benchmarks/2026-12-02-gateway-earlier-rounds.md; the decision:
docs/decisions/gthread-web-workers.md).

This worker keeps a connection on the thread that answered it for HUB_WEB_LINGER_MS: if the client's next request arrives meanwhile (an SDK's pooled connection under load
sends them back to back), the same thread reads and serves it at once. A connection quiet for
longer goes back to the poller as before, so idle clients hold no thread; while a thread
lingers it waits in `select`, holding neither the lock nor CPU.
"""

from __future__ import annotations

import select
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from app.config import load_settings


class LingeringThreadWorker(ThreadWorker):
    """gthread, except that a kept-alive connection's next request is served by the thread that
    served its last one when it arrives within `linger_s`."""

    linger_s = 0.0

    def init_process(self) -> None:
        self.linger_s = load_settings().HUB_WEB_LINGER_MS / 1000
        super().init_process()

    def handle(self, conn: Any) -> Any:
        keep = super().handle(conn)
        while keep is True and self.alive and self.linger_s > 0 \
                and next_request_arrives(conn, self.linger_s):
            keep = super().handle(conn)
        return keep


def next_request_arrives(conn: Any, wait_s: float) -> bool:
    """Whether the connection holds (or receives within `wait_s`) the start of a request.

    A closed connection counts as arriving too: the served read then sees the end of the stream
    and closes it, as the poller's wake-up would have."""
    if conn.parser.unreader.buf.getvalue():  # read ahead with the last request's body
        return True
    poller = select.poll()  # not select.select: no limit on the descriptor's number
    try:
        poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(wait_s * 1000))
    except (OSError, ValueError):  # closed meanwhile
        return False

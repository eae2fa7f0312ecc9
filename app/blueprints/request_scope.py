"""The edge of `app.jobs.request_scope`: one `RequestScope` per request, kept on `g`.

Built by a `before_request` hook registered right after the request id's (`app.log`), so its
start time is taken before authentication, the rate limit and the view; its pending writes
confirmed just before the response leaves, or at teardown if the request failed. Views
hand it to the job core explicitly (`current_request_scope()`).
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from app.jobs.request_scope import PendingWrites, RequestScope


def init_request_scope(app: Flask) -> None:
    @app.before_request
    def _open_scope() -> None:
        websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        g.hub_request_scope = RequestScope(started_at=time.perf_counter(),
                                           writes=None if websocket else PendingWrites())

    @app.after_request
    def _confirm_before_response(response: Response) -> Response:
        scope = g.get("hub_request_scope")
        if scope is not None:
            scope.before_response()
        return response

    @app.teardown_request
    def _confirm_at_teardown(_exc: BaseException | None) -> None:
        scope = g.get("hub_request_scope")
        if scope is not None:
            scope.confirm()


def current_request_scope() -> RequestScope:
    """This request's scope (one built on the spot if the hooks did not run)."""
    scope = g.get("hub_request_scope")
    if scope is None:
        scope = g.hub_request_scope = RequestScope(started_at=time.perf_counter(),
                                                   writes=PendingWrites())
    return scope

"""Counts every response the app gives (`hub_http_requests_total{method, route, status}`).

The hook is registered before every other `after_request` hook, so it runs after them all (Flask
runs them in reverse) and counts the status the client gets; a request whose view or hooks
raised is counted by the 500 Flask then answers with. A streamed response is counted once, when
it starts (its status is known then); a WebSocket when it closes, as 101 (flask-sock answers its
view with a 200 after the socket closed). The route is the URL rule, never the raw path, so the
label values stay as few as the routes.
"""

from __future__ import annotations

from flask import Flask, Response, request

from app.metrics import record_http_response

SWITCHING_PROTOCOLS = 101


def init_request_metrics(app: Flask) -> None:
    @app.after_request
    def _count_response(response: Response) -> Response:
        rule, status = request.url_rule, response.status_code
        if rule is None:
            record_http_response(request.method, None, status)
        else:
            record_http_response(request.method, rule.rule,
                                 SWITCHING_PROTOCOLS if rule.websocket and status == 200
                                 else status)
        return response

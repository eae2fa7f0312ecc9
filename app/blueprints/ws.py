"""WS /ws/jobs/<id>: a job's events, live, from any event id.

Auth: the session cookie, or a first message {"type": "auth", "token": ...} (never a token in
the URL). Resume: ?last_event_id=<id> or {"type": "resume", "last_event_id": ...}. Client
messages: auth, resume, cancel, ping. Close codes: 1000 after `done`, 1013 try again later (every
database connection busy, or the database or Redis unreachable: the client reconnects), 4400 bad
message, 4401 not authenticated, 4403 refused (a session cookie sent from a page that is not the
hub's own origin, or without an Origin header; or a staff account without two-factor sign-in in
production, as on the API), 4404 no such job for this user, 4408 auth not sent in time.

The Origin check stands in for CSRF protection: a browser sends the hub's cookie on a
handshake whatever page opened it, and `cancel` changes state. A socket authenticated by an
`auth` message (a token a page on another origin cannot read) is not checked. A `cancel` from
support staff on another user's job is answered `cancel_refused`, like any refused cancel.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from flask import Blueprint, request
from playhouse.pool import MaxConnectionsExceeded
from simple_websocket import ConnectionClosed

from app import json_input
from app.database import opens_its_own_connection, release_connection
from app.errors import DATABASE_ERRORS, REDIS_ERRORS, HubError, database_unreachable
from app.events import InvalidEventId, Watch
from app.extensions import sock
from app.jobs import api as jobs
from app.models.jobs import Job
from app.security import Principal, authenticate
from app.security.authenticate import two_factor_missing
from app.security.credentials import principal_from_credential
from app.security.errors import TwoFactorSetupRequired
from app.security.origins import origin_trusted, request_origin
from app.services.runtime import current_events, current_settings

log = structlog.get_logger(__name__)
bp = Blueprint("ws", __name__)

CLOSE_DONE, CLOSE_BAD, CLOSE_UNAUTHENTICATED, CLOSE_NOT_FOUND, CLOSE_AUTH_TIMEOUT = \
    1000, 4400, 4401, 4404, 4408
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_AGAIN = 1013  # RFC 6455's "try again later": the client reconnects after a pause


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def _receive_json(ws: Any, timeout_s: float | None) -> dict | None:
    raw = ws.receive(timeout=timeout_s)
    if raw is None:
        return None
    try:
        message = json_input.loads(raw)
    except (TypeError, ValueError):
        raise _Close(CLOSE_BAD, "messages must be JSON objects") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise _Close(CLOSE_BAD, "messages must be JSON objects with a type")
    return message


def _check_origin() -> None:
    """Refuse a cookie-authenticated handshake from a page that is not one of the hub's own."""
    origin = request.headers.get("Origin")
    if not origin_trusted(origin, settings=current_settings(),
                          own_origin=request_origin(request.scheme, request.host)):
        log.warning("ws_origin_refused", origin=origin, path=request.path)
        raise _Close(CLOSE_FORBIDDEN, "this origin may not use the session cookie here; "
                                      "send {\"type\": \"auth\", \"token\": ...} instead")


def _authenticate(ws: Any, pending: list[dict]) -> Principal:
    principal = authenticate()
    if principal is not None:
        if principal.via == "session":
            _check_origin()
        return principal
    timeout_s = current_settings().HUB_WS_AUTH_TIMEOUT_S
    while True:
        message = _receive_json(ws, timeout_s)
        if message is None:
            raise _Close(CLOSE_AUTH_TIMEOUT, "authentication not sent in time")
        if message["type"] == "resume":
            pending.append(message)
            continue
        if message["type"] != "auth" or not isinstance(message.get("token"), str):
            raise _Close(CLOSE_UNAUTHENTICATED, "send {\"type\": \"auth\", \"token\": ...} first")
        try:
            return principal_from_credential(message["token"])
        except HubError:
            raise _Close(CLOSE_UNAUTHENTICATED, "the token is not valid") from None


def _stream(ws: Any, job: Job, user: Any, after_id: str, pending: list[dict]) -> None:
    slice_s = current_settings().HUB_WS_READ_SLICE_S  # the longest a quiet socket sleeps
    release_connection()  # a watcher waits on Redis, for minutes: no pooled connection held
    watch = _watch(ws, job.id, after_id)
    try:
        while True:
            for message in pending:
                resume_from = _handle(ws, message, job, user)
                if resume_from is not None:
                    watch.close()
                    watch = _watch(ws, job.id, resume_from)
            pending.clear()
            release_connection()  # a cancel above may have used one
            for event in watch.next(slice_s):
                ws.send(json.dumps(event.as_dict(), separators=(",", ":")))
                if event.type == "done":
                    raise _Close(CLOSE_DONE, "done")
            while (message := _receive_json(ws, 0)) is not None:
                pending.append(message)
    finally:
        watch.close()


def _watch(ws: Any, job_id: str, after_id: str) -> Watch:
    """The job's events; the watch wakes on the socket's own event too, which its reader thread
    sets when the client sends a message or goes away, so either is answered at once."""
    try:
        return current_events().watch(job_id, after_id, wake=getattr(ws, "event", None))
    except InvalidEventId:
        raise _Close(CLOSE_BAD, "last_event_id is not an event id of this stream") from None


def _handle(ws: Any, message: dict, job: Job, user: Any) -> str | None:
    """Answer one client message; return the id to resume from if it asks to resume."""
    kind = message["type"]
    if kind == "ping":
        ws.send(json.dumps({"type": "pong"}))
    elif kind == "resume":
        resume_from = message.get("last_event_id")
        if not isinstance(resume_from, str):
            raise _Close(CLOSE_BAD, "resume needs last_event_id")
        return resume_from
    elif kind == "cancel":
        try:
            jobs.cancel_job(job.id, user=user)
        except HubError as exc:
            ws.send(json.dumps({"type": "cancel_refused", "data": {"code": exc.code,
                                                                  "message": exc.message}}))
    elif kind != "auth":
        raise _Close(CLOSE_BAD, f"unknown message type {kind!r}")
    return None


@sock.route("/ws/jobs/<job_id>", bp=bp)
@opens_its_own_connection  # none held while the client's auth message is awaited
def job_events(ws: Any, job_id: str) -> None:
    pending: list[dict] = []
    try:
        principal = _authenticate(ws, pending)
        if two_factor_missing(principal.user):
            raise _Close(CLOSE_FORBIDDEN, TwoFactorSetupRequired().message)
        try:
            job = jobs.get_job(job_id, user=principal.user)
        except jobs.JobNotFound:
            raise _Close(CLOSE_NOT_FOUND, "no such job") from None
        _stream(ws, job, principal.user, request.args.get("last_event_id", "0"), pending)
    except _Close as close:
        try:
            ws.close(reason=close.code, message=close.reason)
        except ConnectionClosed:
            pass
    except ConnectionClosed:
        log.info("ws_client_gone", job_id=job_id)
    except (MaxConnectionsExceeded, *REDIS_ERRORS) as error:
        _try_again_later(ws, job_id, error)
    except DATABASE_ERRORS as error:
        if not database_unreachable(error):
            raise
        _try_again_later(ws, job_id, error)


def _try_again_later(ws: Any, job_id: str, error: Exception) -> None:
    """Busy or cut off from the database or Redis: close 1013 so the client comes back (the hub's
    page reconnects from its last event id), not as a failure of the hub."""
    log.warning("ws_try_again_later", job_id=job_id, error=type(error).__name__)
    try:
        ws.close(reason=CLOSE_TRY_AGAIN, message="the hub is busy; reconnect shortly")
    except ConnectionClosed:
        pass

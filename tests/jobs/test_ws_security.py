"""Who may cancel a job, and who may open its WebSocket: support reads but never cancels
another user's job, an admin's cancel of one is audited, staff without two-factor are refused in
production, and a session cookie is accepted only from the hub's own origins.

No worker consumes this module's queue (its own prefix on the Redis broker), so every job stays
`queued`: a socket sees its first event and a cancel ends it at once, with no timing involved."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import websocket
from werkzeug.serving import make_server

from app import create_app
from app.models.audit import AuditLogEntry
from tests.conftest import QUEUE_PREFIX, make_settings
from tests.factories import auth_headers, create_user
from tests.jobs.conftest import balance, chat_job, fund, token_of

PUBLIC_URL = "https://hub.example.com"
OTHER_OWN_ORIGIN = "https://shop.example.com"
SETTINGS = {"HUB_QUEUE_PREFIX": f"{QUEUE_PREFIX}idle-ws.", "HUB_PUBLIC_URL": PUBLIC_URL,
            "HUB_ALLOWED_REDIRECT_ORIGINS": f"{PUBLIC_URL},{OTHER_OWN_ORIGIN}"}
SAME_ORIGIN = object()  # websocket-client's default Origin: the server's own http://host:port


@pytest.fixture
def settings(migrated_database):
    return make_settings(**SETTINGS)


@contextmanager
def served(application) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def hub(app) -> Iterator[str]:
    with served(app) as base:
        yield base


@pytest.fixture
def owner(app):
    user = create_user()
    fund(app, user, 10_000_000)
    return user


@pytest.fixture
def owner_headers(owner, settings) -> dict[str, str]:
    return auth_headers(owner, settings.SECRET_KEY)


@pytest.fixture
def queued_job(client, owner_headers) -> str:
    created = chat_job(client, owner_headers)
    assert created.status_code == 202 and created.json["status"] == "queued"
    return created.json["id"]


def session_cookie(application, user) -> str:
    """The `Cookie` header of a browser signed in to the dashboard as `user`."""
    browser = application.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = user.get_id()
    return f"hub_session={browser.get_cookie('hub_session').value}"


def connect(base: str, job_id: str, *, token: str | None = None, cookie: str | None = None,
            origin: Any = SAME_ORIGIN) -> websocket.WebSocket:
    options: dict[str, Any] = {"timeout": 30}
    if cookie:
        options["cookie"] = cookie
    if origin is None:
        options["suppress_origin"] = True
    elif origin is not SAME_ORIGIN:
        options["origin"] = origin
    conn = websocket.create_connection(f"{base.replace('http://', 'ws://')}/ws/jobs/{job_id}",
                                       **options)
    if token:
        conn.send(json.dumps({"type": "auth", "token": token}))
    return conn


def next_frame(conn: websocket.WebSocket) -> dict:
    """The next message as a dict, or {"close": code, "reason": text} when the server closes."""
    while True:
        opcode, data = conn.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return {"close": int.from_bytes(data[:2], "big") if len(data) >= 2 else None,
                    "reason": data[2:].decode()}
        if opcode == websocket.ABNF.OPCODE_TEXT:
            return json.loads(data)


def assert_sees_queued(conn: websocket.WebSocket) -> None:
    frame = next_frame(conn)
    assert frame.get("type") == "status" and frame["data"] == {"status": "queued"}, frame


# --- 4. support is read-only; an admin's cancel is audited ------------------------------------

def test_support_reads_but_cannot_cancel_another_users_job(app, client, owner, owner_headers,
                                                           queued_job, settings) -> None:
    support = auth_headers(create_user(role="support"), settings.SECRET_KEY)
    held = balance(app, owner).held
    assert client.get(f"/api/jobs/{queued_job}", headers=support).status_code == 200

    refused = client.post(f"/api/jobs/{queued_job}/cancel", headers=support)

    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "job_cancel_forbidden"
    assert client.get(f"/api/jobs/{queued_job}", headers=owner_headers).json["status"] == "queued"
    assert balance(app, owner).held == held
    assert AuditLogEntry.select().count() == 0


def test_admin_cancel_of_another_users_job_is_audited(app, client, owner, owner_headers,
                                                      queued_job, settings) -> None:
    admin = create_user(role="admin")

    canceled = client.post(f"/api/jobs/{queued_job}/cancel",
                           headers=auth_headers(admin, settings.SECRET_KEY))

    assert canceled.status_code == 200 and canceled.json["status"] == "canceled"
    assert balance(app, owner).held == 0
    entry = AuditLogEntry.get()
    assert (entry.actor_id, entry.actor_label, entry.action, entry.target_type,
            entry.target_id) == (admin.id, admin.email, "job.cancel", "job", queued_job)
    assert json.loads(entry.before) == {"status": "queued", "user_id": owner.id}
    assert json.loads(entry.after) == {"status": "canceled", "cancel_requested": True}
    # The owner's own cancel is not a privileged change: nothing more is audited.
    own = chat_job(client, owner_headers).json["id"]
    assert client.post(f"/api/jobs/{own}/cancel", headers=owner_headers).status_code == 200
    assert AuditLogEntry.select().count() == 1


def test_support_cancel_over_websocket_is_refused(client, hub, owner_headers, queued_job,
                                                  settings) -> None:
    support = auth_headers(create_user(role="support"), settings.SECRET_KEY)
    conn = connect(hub, queued_job, token=token_of(support))
    try:
        assert_sees_queued(conn)  # support may still read the stream
        conn.send(json.dumps({"type": "cancel"}))
        refused = next_frame(conn)
    finally:
        conn.close()
    assert refused["type"] == "cancel_refused"
    assert refused["data"]["code"] == "job_cancel_forbidden"
    assert client.get(f"/api/jobs/{queued_job}", headers=owner_headers).json["status"] == "queued"


# --- 6. staff without two-factor in production ------------------------------------------------

@pytest.fixture
def production_hub(migrated_database) -> Iterator[tuple[Any, str]]:
    production = create_app(make_settings(HUB_ENV="production", HUB_MAIL_LOG_IN_PRODUCTION=True,
                                          **SETTINGS))
    with served(production) as base:
        yield production, base


@pytest.mark.parametrize("via", ["token", "cookie"])
@pytest.mark.parametrize("role", ["support", "admin"])
def test_staff_without_two_factor_cannot_stream_in_production(production_hub, queued_job,
                                                               owner_headers, settings, role,
                                                               via) -> None:
    production, base = production_hub
    staff = create_user(role=role)
    credentials = {"token": token_of(auth_headers(staff, settings.SECRET_KEY))} \
        if via == "token" else {"cookie": session_cookie(production, staff)}

    conn = connect(base, queued_job, **credentials)
    try:
        frame = next_frame(conn)
    finally:
        conn.close()

    assert frame["close"] == 4403 and "two-factor" in frame["reason"]
    # The same production hub streams the job to its owner.
    owner_conn = connect(base, queued_job, token=token_of(owner_headers))
    try:
        assert_sees_queued(owner_conn)
    finally:
        owner_conn.close()


# --- 7. a session cookie only from the hub's own origins --------------------------------------

@pytest.mark.parametrize("origin", ["https://evil.example", "http://hub.example.com",
                                    "https://hub.example.com.evil.example", "null", None])
def test_cookie_socket_from_a_foreign_or_missing_origin_is_refused(app, hub, owner, queued_job,
                                                                  origin) -> None:
    conn = connect(hub, queued_job, cookie=session_cookie(app, owner), origin=origin)
    try:
        frame = next_frame(conn)
    finally:
        conn.close()
    assert frame["close"] == 4403 and "origin" in frame["reason"]


@pytest.mark.parametrize("origin", [SAME_ORIGIN, PUBLIC_URL, f"{PUBLIC_URL}:443",
                                    OTHER_OWN_ORIGIN])
def test_cookie_socket_from_the_hubs_own_origins_streams(app, hub, owner, queued_job,
                                                          origin) -> None:
    conn = connect(hub, queued_job, cookie=session_cookie(app, owner), origin=origin)
    try:
        assert_sees_queued(conn)
    finally:
        conn.close()


def test_dashboard_cancel_over_a_same_origin_cookie_socket(app, client, hub, owner,
                                                           owner_headers, queued_job) -> None:
    conn = connect(hub, queued_job, cookie=session_cookie(app, owner))
    try:
        assert_sees_queued(conn)
        conn.send(json.dumps({"type": "cancel"}))
        frames = []
        while "close" not in (frame := next_frame(conn)):
            frames.append(frame)
    finally:
        conn.close()
    assert frames[-1]["type"] == "done" and frames[-1]["data"] == {"status": "canceled"}
    assert frame["close"] == 1000
    assert client.get(f"/api/jobs/{queued_job}", headers=owner_headers).json["status"] \
        == "canceled"


def test_token_socket_from_another_origin_is_not_checked(hub, owner_headers,
                                                         queued_job) -> None:
    """Non-browser clients (and pages elsewhere holding a token) authenticate by message."""
    conn = connect(hub, queued_job, token=token_of(owner_headers), origin="https://elsewhere.dev")
    try:
        assert_sees_queued(conn)
    finally:
        conn.close()

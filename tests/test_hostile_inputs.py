"""Hostile inputs: each is refused with a 4xx in its API's error shape and changes nothing.

Deeply nested JSON, lone surrogates, dates that overflow once converted to UTC, integers
larger than their column, and Stripe events without `data.object`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websocket
from marshmallow import fields
from werkzeug.serving import make_server

from app.blueprints.fields import UtcDateTime
from app.models.api_keys import ApiKey
from app.models.base import BIGINT_MAX, INTEGER_MAX
from app.models.jobs import Job
from app.models.ledger import CreditHold, LedgerEntry
from app.models.payments import StripeEvent
from app.models.promo import PromoCode
from app.services import ledger
from tests.conftest import make_settings, sqlite_app
from tests.factories import auth_headers, create_user
from tests.fake_stripe import sign, signed_event

WEBHOOK_SECRET = "whsec_test_hostile_inputs"
DEEP = 100_000
MESSAGES = [{"role": "user", "content": "hello"}]
CHAT_ROUTES = [
    ("/api/jobs", {"type": "chat", "model": "local-echo", "max_tokens": 16, "messages": MESSAGES}),
    ("/api/jobs/quote", {"type": "chat", "model": "local-echo", "max_tokens": 16,
                         "messages": MESSAGES}),
    ("/v1/chat/completions", {"model": "local-echo", "max_tokens": 16, "messages": MESSAGES}),
    ("/v1/messages", {"model": "local-echo", "max_tokens": 16, "messages": MESSAGES}),
]
CHAT_IDS = [path for path, _ in CHAT_ROUTES]


@pytest.fixture
def settings(migrated_database):
    return make_settings(STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)


@pytest.fixture
def user(app):
    user = create_user()
    with app.app_context():
        ledger.credit(user.id, 10_000_000, kind="promo", idempotency_key=f"t:{uuid.uuid4()}")
    return user


@pytest.fixture
def headers(user, settings) -> dict[str, str]:
    return {**auth_headers(user, settings.SECRET_KEY), "Content-Type": "application/json"}


def state(app, user=None) -> dict[str, Any]:
    """What a refused request must leave as it was."""
    with app.app_context():
        counts: dict[str, Any] = {
            model.__name__: model.select().count()
            for model in (Job, CreditHold, LedgerEntry, ApiKey, PromoCode, StripeEvent)}
        if user is not None:
            counts["balance"] = ledger.get_balance(user.id)
    return counts


def error_of(path: str, body: dict[str, Any]) -> tuple[str | None, str]:
    """(code, message) of an error in the shape of the API that answered; Anthropic's shape
    carries no code, only its type."""
    if path.startswith("/v1/messages"):
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
        return None, body["error"]["message"]
    if path.startswith("/v1/"):
        assert body["error"]["type"] == "invalid_request_error"
    return body["error"]["code"], body["error"]["message"]


def assert_refused(path: str, response, status: int, code: str, naming: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    got_code, message = error_of(path, response.json)
    assert got_code in (code, None) and (got_code or path.startswith("/v1/messages"))
    assert naming in message, message


def nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# --- deeply nested JSON -------------------------------------------------------------------

@pytest.mark.parametrize("path,base", CHAT_ROUTES, ids=CHAT_IDS)
@pytest.mark.parametrize("deep", [nested_list(DEEP), nested_object(DEEP)], ids=["list", "object"])
def test_a_deeply_nested_body_is_invalid_json(app, client, user, headers, path, base,
                                              deep) -> None:
    before = state(app, user)

    whole = client.post(path, data=deep, headers=headers)
    inside = client.post(path, data=json.dumps(base)[:-1] + f', "stop": {deep}}}',
                         headers=headers)

    for response in (whole, inside):
        assert_refused(path, response, 400, "invalid_json", "nested too deeply")
    assert state(app, user) == before


def test_every_json_route_parses_with_the_same_guard(app, client, headers) -> None:
    """Not only the chat routes: any body read through apiflask or `request.get_json()`."""
    for path in ("/api/keys", "/api/auth/login", "/api/credits/redeem"):
        response = client.post(path, data=nested_list(DEEP), headers=headers)
        assert_refused(path, response, 400, "invalid_json", "nested too deeply")
    assert state(app)["ApiKey"] == 0


def test_a_signed_deeply_nested_webhook_is_an_invalid_payload(app, client) -> None:
    body = ('{"id": "evt_deep", "type": "checkout.session.completed", "data": '
            + nested_object(DEEP) + "}").encode()

    response = client.post("/api/payments/webhook", data=body, headers={
        "Stripe-Signature": sign(body, WEBHOOK_SECRET), "Content-Type": "application/json"})

    assert_refused("/api/payments/webhook", response, 400, "invalid_payload", "")
    assert state(app)["StripeEvent"] == 0


@pytest.fixture
def ws_url(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"ws://127.0.0.1:{server.server_port}/ws/jobs/no-such-job"
    server.shutdown()
    thread.join(timeout=10)


def close_code_after(url: str, message: str) -> int | None:
    conn = websocket.create_connection(url, timeout=30)
    try:
        conn.send(message)
        while True:
            opcode, data = conn.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return int.from_bytes(data[:2], "big") if len(data) >= 2 else None
    finally:
        conn.close()


@pytest.mark.parametrize("message", [nested_list(DEEP), '{"type": "auth", "token": "\\ud800"}'],
                         ids=["deep", "surrogate"])
def test_a_websocket_message_the_hub_cannot_read_closes_with_4400(ws_url, message) -> None:
    assert close_code_after(ws_url, message) == 4400


# --- lone surrogates ----------------------------------------------------------------------

@pytest.mark.parametrize("path,base", CHAT_ROUTES, ids=CHAT_IDS)
def test_a_lone_surrogate_in_a_message_is_refused_by_name(app, client, user, headers, path,
                                                          base) -> None:
    before = state(app, user)
    body = {**base, "messages": [{"role": "user", "content": "hi \ud800 there"}]}

    response = client.post(path, data=json.dumps(body), headers=headers)

    assert_refused(path, response, 400, "invalid_unicode", "messages[0].content")
    assert state(app, user) == before


def test_lone_surrogates_are_refused_in_any_field_and_key(app, client, headers) -> None:
    as_value = client.post("/api/keys", data=json.dumps({"name": "\udfff"}), headers=headers)
    as_key = client.post("/api/keys", data=json.dumps({"name": "k", "\ud800": 1}),
                         headers=headers)
    encoded = client.post("/api/keys", data=b'{"name": "\xed\xa0\x80"}', headers=headers)

    assert_refused("/api/keys", as_value, 400, "invalid_unicode", "name")
    assert_refused("/api/keys", as_key, 400, "invalid_unicode", "\\ud800")
    assert_refused("/api/keys", encoded, 400, "invalid_json", "not UTF-8")
    assert state(app)["ApiKey"] == 0


def test_an_escaped_surrogate_pair_is_text_and_is_counted(client, headers) -> None:
    def quote(body: str) -> dict[str, Any]:
        response = client.post("/api/jobs/quote", data=body, headers=headers)
        assert response.status_code == 200, response.json
        return response.json

    template = ('{"type": "chat", "model": "local-echo", "max_tokens": 16, '
                '"messages": [{"role": "user", "content": "%s"}]}')
    escaped, literal = quote(template % "\\ud83d\\ude00"), quote(template % "\U0001F600")
    assert escaped["input_tokens"] == literal["input_tokens"] > 0


# --- dates out of range -------------------------------------------------------------------

HISTORY = ["/api/credits/transactions", "/api/credits/transactions.csv"]


@pytest.mark.parametrize("path", HISTORY)
@pytest.mark.parametrize("query,field", [("from=0001-01-01T00:00:00%2B14:00", "from"),
                                         ("to=9999-12-31T23:59:59-14:00", "to"),
                                         ("to=10000-01-01", "to"),
                                         ("from=2024-01-01T00:00:00%2B99:00", "from")])
def test_a_history_date_out_of_range_is_refused_by_name(client, headers, path, query,
                                                        field) -> None:
    response = client.get(f"{path}?{query}", headers=headers)

    assert_refused(path, response, 422, "validation_error", f"{field}:")


@pytest.mark.parametrize("path", HISTORY)
def test_the_widest_history_range_is_served(client, user, headers, path) -> None:
    response = client.get(f"{path}?from=0001-01-01&to=9999-12-31T23:59:59", headers=headers)

    assert response.status_code == 200
    assert b"promo" in response.data  # the funding entry is inside the range


@pytest.mark.parametrize("expires_at", ["9999-12-31T23:59:59-14:00",
                                        "0001-01-01T00:00:00+14:00"])
def test_a_key_expiry_out_of_range_is_refused_by_name(app, client, headers,
                                                      expires_at) -> None:
    response = client.post("/api/keys", json={"name": "k", "expires_at": expires_at},
                           headers=headers)

    assert_refused("/api/keys", response, 422, "validation_error", "expires_at:")
    assert state(app)["ApiKey"] == 0


def test_a_key_expiry_at_the_edge_is_kept_in_utc(client, headers) -> None:
    response = client.post("/api/keys", json={"name": "k",
                                              "expires_at": "9999-12-31T23:59:59+14:00"},
                           headers=headers)

    assert response.status_code == 201
    assert response.json["expires_at"].startswith("9999-12-31T09:59:59")


PROMO = {"code": "HOSTILE", "amount_credits": 5, "max_redemptions": 3}


@pytest.mark.parametrize("field,value", [("valid_until", "9999-12-31T23:59:59-14:00"),
                                         ("valid_until", "0001-01-01T00:00:00+14:00"),
                                         ("valid_from", "0001-01-01T00:00:00+14:00")])
def test_a_promo_date_out_of_range_is_refused_by_name(app, client, admin_headers, field,
                                                      value) -> None:
    response = client.post("/api/admin/promo-codes", json={**PROMO, field: value},
                           headers=admin_headers)

    assert_refused("/api/admin", response, 422, "validation_error", f"{field}:")
    assert state(app)["PromoCode"] == 0


# --- integers larger than their column ----------------------------------------------------

@pytest.mark.parametrize("value", [INTEGER_MAX + 1, 10**20])
def test_max_redemptions_past_an_integer_column_is_refused(app, client, admin_headers,
                                                           value) -> None:
    response = client.post("/api/admin/promo-codes", json={**PROMO, "max_redemptions": value},
                           headers=admin_headers)

    assert_refused("/api/admin", response, 422, "validation_error", "max_redemptions:")
    assert state(app)["PromoCode"] == 0


def test_max_redemptions_up_to_the_column_is_kept(client, admin_headers) -> None:
    response = client.post("/api/admin/promo-codes",
                           json={**PROMO, "max_redemptions": INTEGER_MAX}, headers=admin_headers)

    assert response.status_code == 201 and response.json["max_redemptions"] == INTEGER_MAX


@pytest.mark.parametrize("field", ["cap_total_credits", "cap_monthly_credits"])
@pytest.mark.parametrize("value", [BIGINT_MAX + 1, 10**20])
def test_a_key_cap_past_a_bigint_column_is_refused(app, client, headers, field, value) -> None:
    response = client.post("/api/keys", json={"name": "k", field: value}, headers=headers)

    assert_refused("/api/keys", response, 422, "validation_error", f"{field}:")
    assert state(app)["ApiKey"] == 0


def test_a_key_cap_up_to_the_column_is_kept(client, headers) -> None:
    response = client.post("/api/keys", json={"name": "k", "cap_total_credits": BIGINT_MAX},
                           headers=headers)

    assert response.status_code == 201 and response.json["cap_total_credits"] == BIGINT_MAX


@pytest.mark.parametrize("path,base", CHAT_ROUTES, ids=CHAT_IDS)
def test_max_tokens_past_any_column_is_refused(app, client, user, headers, path, base) -> None:
    before = state(app, user)

    response = client.post(path, json={**base, "max_tokens": 10**20}, headers=headers)

    assert_refused(path, response, 422, "validation_error", "max_tokens:")
    assert state(app, user) == before


def _input_fields(app) -> Iterator[tuple[str, str, fields.Field]]:
    """(route, field name, field) of every field of every input schema, nested ones too."""
    def walk(schema: Any, route: str, prefix: str = "") -> Iterator[tuple[str, str, Any]]:
        for name, field in (schema() if isinstance(schema, type) else schema).fields.items():
            yield route, prefix + name, field
            inner = field.inner if isinstance(field, fields.List) else field
            if isinstance(inner, fields.Nested):
                yield from walk(inner.nested, route, f"{prefix}{name}.")

    for rule in app.url_map.iter_rules():
        spec = getattr(app.view_functions[rule.endpoint], "_spec", {})
        schemas = [spec["body"]] if spec.get("body") is not None else []
        schemas += [schema for schema, _ in spec.get("args", [])]
        for schema in schemas:
            yield from walk(schema, rule.rule)


def test_every_integer_and_date_input_is_bounded(app) -> None:
    """A new input cannot reach the database unbounded: every integer has a range within a
    BIGINT, and every date-time is read as UTC with its overflow refused."""
    unbounded, naive = [], []
    for route, name, field in _input_fields(app):
        if isinstance(field, fields.Integer):
            ranges = [v for v in field.validators if getattr(v, "max", None) is not None
                      and getattr(v, "min", None) is not None]
            if not any(-BIGINT_MAX - 1 <= v.min and v.max <= BIGINT_MAX for v in ranges):
                unbounded.append(f"{route} {name}")
        if isinstance(field, fields.DateTime) and not isinstance(field, UtcDateTime):
            naive.append(f"{route} {name}")
    assert unbounded == [] and naive == []


# --- Stripe events without data -----------------------------------------------------------

@pytest.mark.parametrize("data", [None, {}, {"object": None}, {"object": "cs_1"}],
                         ids=["no-data", "no-object", "null-object", "string-object"])
def test_a_signed_event_without_data_object_is_refused_and_not_recorded(app, client,
                                                                       data) -> None:
    body, headers = signed_event(WEBHOOK_SECRET, "checkout.session.completed", {})
    event = json.loads(body)
    event.pop("data") if data is None else event.update(data=data)
    body = json.dumps(event).encode()
    headers["Stripe-Signature"] = sign(body, WEBHOOK_SECRET, timestamp=int(time.time()))

    response = client.post("/api/payments/webhook", data=body, headers=headers)
    again = client.post("/api/payments/webhook", data=body, headers=headers)

    for answer in (response, again):  # not marked processed: a retry is refused the same way
        assert_refused("/api/payments/webhook", answer, 400, "invalid_payload", "data.object")
    assert state(app)["StripeEvent"] == 0


# --- the embedded default (SQLite) ----------------------------------------------------------

def test_the_same_refusals_on_sqlite(tmp_path, migrated_database) -> None:
    """SQLite fails differently (an INTEGER holds 64 bits, its driver raises OverflowError and
    UnicodeEncodeError): the refusals come before it, so they are the same."""
    with sqlite_app(tmp_path) as app:
        secret = app.extensions["hub"].settings.SECRET_KEY
        with app.app_context():  # not held during requests: they would share its `g`
            user, admin = create_user(), create_user(role="admin")
            ledger.credit(user.id, 1_000_000, kind="promo", idempotency_key="fund")
        headers = {**auth_headers(user, secret), "Content-Type": "application/json"}
        client = app.test_client()
        before = state(app, user)

        deep = client.post("/api/jobs", data=nested_list(DEEP), headers=headers)
        surrogate = client.post("/api/keys", data=json.dumps({"name": "\ud800"}),
                                headers=headers)
        cap = client.post("/api/keys", json={"name": "k", "cap_total_credits": 10**20},
                          headers=headers)
        limit = client.post("/api/admin/promo-codes", json={**PROMO, "max_redemptions": 2**31},
                            headers=auth_headers(admin, secret))

        assert_refused("/api/jobs", deep, 400, "invalid_json", "nested too deeply")
        assert_refused("/api/keys", surrogate, 400, "invalid_unicode", "name")
        assert_refused("/api/keys", cap, 422, "validation_error", "cap_total_credits:")
        assert_refused("/api/admin", limit, 422, "validation_error", "max_redemptions:")
        assert state(app, user) == before

"""What schemathesis (tests/test_api_schema.py) found the API and its OpenAPI document
disagreeing on, pinned one by one: NUL characters reaching PostgreSQL (500), date-times sent
without the offset `date-time` requires, answers the document did not list, and errors
documented in a shape other than the one sent."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from app.models.api_keys import ApiKey
from app.models.ledger import LedgerEntry
from app.models.users import User
from tests.factories import auth_headers, create_payment_flag, create_user

NUL_BODIES = [
    ("/api/credits/redeem", {"code": "AB\u0000C"}, "code"),
    ("/api/keys", {"name": "ci\u0000"}, "name"),
    ("/api/keys", {"na\u0000me": "ci"}, "na\\u0000me"),
    ("/api/auth/login", {"email": "a\u0000@example.com", "password": "long enough pw"}, "email"),
    ("/api/jobs/quote", {"type": "chat", "model": "local-echo", "max_tokens": 5,
                         "messages": [{"role": "user", "content": "hi\u0000"}]},
     "messages[0].content"),
]


@pytest.fixture
def headers(app, settings) -> dict[str, str]:
    return auth_headers(create_user(), settings.SECRET_KEY)


def _offset_of(value: str) -> object:
    return datetime.fromisoformat(value).utcoffset()


@pytest.mark.parametrize(("path", "body", "field"), NUL_BODIES)
def test_a_nul_character_is_refused_by_name_and_changes_nothing(client, headers, path, body,
                                                               field) -> None:
    response = client.post(path, data=json.dumps(body), headers=headers,
                           content_type="application/json")

    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "nul_character"
    assert response.json["error"]["message"] == \
        f"{field}: holds a NUL character (U+0000), which the hub cannot store"
    assert ApiKey.select().count() == LedgerEntry.select().count() == 0


def test_a_nul_character_on_v1_is_refused_in_openais_shape(client, app, settings) -> None:
    user = create_user()
    key = client.post("/api/keys", json={"name": "sdk"},
                      headers=auth_headers(user, settings.SECRET_KEY)).json["key"]

    response = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                           json={"model": "local-echo",
                                 "messages": [{"role": "user", "content": "\u0000"}]})

    assert response.status_code == 400
    assert response.json["error"]["code"] == "nul_character"
    assert response.json["error"]["type"] == "invalid_request_error"


def test_a_nul_character_in_a_form_field_or_query_argument_is_refused(client, headers) -> None:
    page = client.get("/login").data
    token = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()

    signed_in = client.post("/login", data={"email": "a\x00b@example.com", "csrf_token": token,
                                            "password": "a long enough password"})
    listed = client.get("/api/jobs?cursor=%00", headers=headers)

    assert signed_in.status_code == listed.status_code == 400
    assert signed_in.json["error"]["message"].startswith("email: holds a NUL character")
    assert listed.json["error"] == {
        "code": "nul_character",
        "message": "cursor: holds a NUL character (U+0000), which the hub cannot store"}


def test_date_times_are_sent_with_their_utc_offset(client, app, settings) -> None:
    user = create_user()
    admin = auth_headers(create_user(role="admin"), settings.SECRET_KEY)
    create_payment_flag(user)
    headers = auth_headers(user, settings.SECRET_KEY)

    me = client.get("/api/me", headers=headers).json
    key = client.post("/api/keys", headers=headers,
                      json={"name": "ci", "expires_at": "2030-01-02T03:04:05+02:00"}).json
    [flag] = client.get("/api/admin/payments/flags", headers=admin).json["items"]

    for value in (me["created_at"], me["email_verified_at"], key["created_at"],
                  flag["created_at"]):
        assert _offset_of(value).total_seconds() == 0, value
    assert key["expires_at"] == "2030-01-02T01:04:05+00:00"
    stored = User.get_by_id(user.id).created_at
    assert datetime.fromisoformat(me["created_at"]) == stored.replace(tzinfo=UTC)


def test_every_operation_lists_the_hubs_own_answers(client) -> None:
    """400 anywhere, 413 for a body, 401/403 behind `require_auth`, 429 under /api and /v1."""
    missing = []
    for path, operations in client.get("/api/openapi.json").json["paths"].items():
        for method, operation in operations.items():
            wanted = {"400"}
            if "requestBody" in operation:
                wanted |= {"413"}
            if operation.get("security"):
                wanted |= {"401", "403"}
            if path.startswith(("/api/", "/v1/")):
                wanted |= {"429"}
            if not wanted <= set(operation["responses"]):
                missing.append((method, path, sorted(wanted - set(operation["responses"]))))
    assert missing == []
    me = client.get("/api/openapi.json").json["paths"]["/api/me"]["get"]
    assert me["security"] == [{"bearer": []}]


def test_errors_are_documented_in_the_shape_they_are_sent_in(client) -> None:
    spec = client.get("/api/openapi.json").json
    paths, schemas = spec["paths"], spec["components"]["schemas"]

    def error_schema(path: str, method: str, status: str) -> dict:
        ref = paths[path][method]["responses"][status]["content"]["application/json"]["schema"]
        return schemas[ref["$ref"].rsplit("/", 1)[-1]]

    hub = error_schema("/api/jobs/{job_id}", "get", "404")
    assert hub["required"] == ["error"]
    assert hub["properties"]["error"]["required"] == ["code", "message"]
    assert schemas["ValidationError"] == hub
    assert error_schema("/v1/chat/completions", "post", "401")["properties"]["error"][
        "required"] == ["message", "type"]
    assert error_schema("/v1/messages", "post", "401")["required"] == ["type", "error"]


def test_answers_the_job_and_google_routes_give_are_documented(client, headers) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    bad_cursor = client.get("/api/jobs?cursor=bogus", headers=headers)
    unknown_model = client.post("/api/jobs/quote", headers=headers, json={
        "type": "chat", "model": "gpt-99", "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}]})
    google = client.get("/api/auth/google/callback")

    assert bad_cursor.status_code == 400 and "400" in paths["/api/jobs"]["get"]["responses"]
    assert unknown_model.status_code == 404
    assert "404" in paths["/api/jobs/quote"]["post"]["responses"]
    assert "404" in paths["/api/jobs"]["post"]["responses"]
    assert google.status_code == 404
    assert "404" in paths["/api/auth/google/callback"]["get"]["responses"]

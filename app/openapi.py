"""The OpenAPI document (`/api/openapi.json`) states every answer a route may give.

Some answers belong to the hub rather than to one route, and are added here, in one place,
from what each view declares:

- any request may be malformed (400): a JSON body that is not JSON or not UTF-8, or text (in
  the body, a query argument or a form field) holding NUL, which the database cannot store;
- a JSON body may be too large (413);
- a guarded view (`require_auth`) refuses a caller without valid credentials (401), or without
  the role, the scope, a verified address or two-factor sign-in it asks for (403);
- every `/api` and `/v1` route is rate limited per caller (429).

Every error is documented in the shape it is sent in (see `app.errors.error_body`): the hub's
`{"error": {"code", "message"}}`, OpenAI's on `/v1/...`, Anthropic's on `/v1/messages`. The
guarded routes name their credential: a bearer token (an access token, or a hub API key where
the route allows one).
"""

from __future__ import annotations

import re
from typing import Any

from apiflask import APIFlask

from app.security.api_limit import API_PREFIXES

HUB_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "details": {"description": "per-field problems, when there are any"}}}},
}
OPENAI_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["message", "type"],
        "properties": {"message": {"type": "string"}, "type": {"type": "string"},
                       "param": {"type": "string", "nullable": True},
                       "code": {"type": "string", "nullable": True}}}},
}
ANTHROPIC_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "error"],
    "properties": {"type": {"type": "string", "enum": ["error"]}, "error": {
        "type": "object", "required": ["type", "message"],
        "properties": {"type": {"type": "string"}, "message": {"type": "string"}}}},
}
BEARER = "bearer"
BEARER_SCHEME = {"type": "http", "scheme": "bearer",
                 "description": "An access token from /api/auth/login, or a hub API key on "
                                "the routes that allow one (also `x-api-key` on /v1/messages)."}

MALFORMED = {"400": "Malformed input: a body that is not JSON or not UTF-8 text, or text "
                    "holding NUL (U+0000)"}
BODY_ERRORS = {"413": "The body is larger than the hub accepts"}
AUTH_ERRORS = {"401": "No valid credentials",
               "403": "The credentials may not do this (role, API key scope, unverified "
                      "address, two-factor sign-in required)"}
RATE_LIMITED = {"429": "Too many requests from this caller; see Retry-After"}


# components: apiflask names the hub's error "HTTPError" (and "ValidationError" for 422)
ERROR_SCHEMAS = {"HTTPError": HUB_ERROR_SCHEMA, "OpenAIError": OPENAI_ERROR_SCHEMA,
                 "AnthropicError": ANTHROPIC_ERROR_SCHEMA}


def _error_schema_name(path: str) -> str | None:
    """The error shape of the API family, None for the hub's (already apiflask's default)."""
    if path.startswith("/v1/messages"):
        return "AnthropicError"
    if path.startswith("/v1/"):
        return "OpenAIError"
    return None


def _openapi_path(rule: str) -> str:
    """`/api/jobs/<job_id>` and `/x/<int:id>` as OpenAPI writes them: `/api/jobs/{job_id}`."""
    return re.sub(r"<(?:[^<:>]+:)?([^<>]+)>", r"{\1}", rule)


def _answers(path: str, operation: dict[str, Any], access: dict[str, Any]) -> dict[str, str]:
    answers = dict(MALFORMED)
    if "requestBody" in operation:
        answers |= BODY_ERRORS
    if access and not access.get("public"):
        answers |= AUTH_ERRORS
    if path.startswith(API_PREFIXES):
        answers |= RATE_LIMITED
    return answers


def _complete(path: str, operation: dict[str, Any], access: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, description in _answers(path, operation, access).items():
        responses.setdefault(status, {"description": description})
    vendor = _error_schema_name(path)
    for status, response in responses.items():
        if status.startswith(("4", "5")) and (vendor or "content" not in response):
            ref = f"#/components/schemas/{vendor or 'HTTPError'}"
            response["content"] = {"application/json": {"schema": {"$ref": ref}}}
    if access and not access.get("public"):
        operation["security"] = [{BEARER: []}]


def complete_spec(app: APIFlask, spec: dict[str, Any]) -> dict[str, Any]:
    """Add the hub-wide answers, error shapes and credentials to each operation."""
    paths = spec.get("paths", {})
    for rule in app.url_map.iter_rules():
        operations = paths.get(_openapi_path(rule.rule), {})
        access = getattr(app.view_functions[rule.endpoint], "_hub_auth", {})
        for method in rule.methods or ():
            operation = operations.get(method.lower())
            if operation is not None:
                _complete(_openapi_path(rule.rule), operation, access)
    components = spec.setdefault("components", {})
    components.setdefault("schemas", {}).update(ERROR_SCHEMAS)
    components.setdefault("securitySchemes", {})[BEARER] = BEARER_SCHEME
    return spec


def init_openapi(app: APIFlask) -> None:
    app.config["HTTP_ERROR_SCHEMA"] = HUB_ERROR_SCHEMA
    app.config["VALIDATION_ERROR_SCHEMA"] = HUB_ERROR_SCHEMA
    app.spec_processor(lambda spec: complete_spec(app, spec))

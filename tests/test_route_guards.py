"""Every API view is either guarded by `require_auth` or explicitly marked `public`."""

from __future__ import annotations

import re

GUARDED_PREFIXES = ("/api/", "/v1/")
FRAMEWORK_ENDPOINTS = {"openapi.spec", "openapi.docs", "static"}


def test_every_api_route_declares_its_access(app) -> None:
    unguarded = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in FRAMEWORK_ENDPOINTS or not rule.rule.startswith(GUARDED_PREFIXES):
            continue
        view = app.view_functions[rule.endpoint]
        if not hasattr(view, "_hub_auth"):
            unguarded.append(f"{rule.rule} ({rule.endpoint})")
    assert unguarded == [], f"routes with neither require_auth nor public: {unguarded}"


def _concrete_paths(app, prefix: str) -> list[tuple[str, str]]:
    """Every (method, URL) under `prefix`, with path arguments filled in."""
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix) or rule.endpoint.endswith("static"):
            continue
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<{argument}>", "1").replace(f"<int:{argument}>", "1") \
                .replace(f"<path:{argument}>", "x")
        url = re.sub(r"<[^>]+>", "csv", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.append((method, url))
    return paths


def test_every_admin_route_refuses_anonymous_and_plain_users(app, settings) -> None:
    from tests.factories import create_user

    paths = _concrete_paths(app, "/admin")
    assert len(paths) > 5  # the back office is mounted
    anonymous = app.test_client()
    plain = app.test_client()
    with plain.session_transaction() as session:
        user = create_user()
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    # Forms carry a valid CSRF token, so what refuses is the access rule, not the CSRF check.
    tokens = {id(c): re.search(rb'name="csrf-token" content="([^"]+)"', c.get("/forgot").data)
              .group(1).decode() for c in (anonymous, plain)}
    for method, url in paths:
        data = None if method == "GET" else {"csrf_token": tokens[id(anonymous)]}
        response = anonymous.open(url, method=method, data=data)
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"].startswith("/login"), (method, url)
        data = None if method == "GET" else {"csrf_token": tokens[id(plain)]}
        response = plain.open(url, method=method, data=data)
        assert response.status_code == 403, (method, url, response.status_code)


def test_every_page_declares_its_access(app) -> None:
    """Pages (not /api, /v1, /admin or assets) carry `page_auth` or `public`."""
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/v1/", "/admin", "/static", "/bootstrap/", "/ws/",
                                 "/docs/")) or rule.endpoint in FRAMEWORK_ENDPOINTS \
                or rule.endpoint.startswith("ops."):
            continue
        if not hasattr(app.view_functions[rule.endpoint], "_hub_auth"):
            undeclared.append(f"{rule.rule} ({rule.endpoint})")
    assert undeclared == [], f"pages with neither page_auth nor public: {undeclared}"


# What a hub API key may call: model access (`/v1`, jobs, the model list) and reading the
# balance and the account it belongs to. Adding a route here is a decision: document it in
# docs/security.md ("API key scopes").
API_KEY_ROUTES = {
    ("POST", "/v1/chat/completions"), ("POST", "/v1/messages"), ("GET", "/v1/models"),
    ("POST", "/v1/embeddings"),
    ("POST", "/v1/responses"),
    ("POST", "/v1/videos"), ("GET", "/v1/videos"), ("GET", "/v1/videos/<video_id>"),
    ("GET", "/v1/videos/<video_id>/content"),
    ("POST", "/api/jobs/quote"), ("POST", "/api/jobs"), ("GET", "/api/jobs"),
    ("GET", "/api/jobs/<job_id>"), ("POST", "/api/jobs/<job_id>/cancel"),
    ("GET", "/api/jobs/<job_id>/content"), ("GET", "/api/credits/balance"), ("GET", "/api/me"),
    ("GET", "/api/conversations"), ("POST", "/api/conversations"),
    ("GET", "/api/conversations/<conversation_id>"),
    ("PATCH", "/api/conversations/<conversation_id>"),
    ("DELETE", "/api/conversations/<conversation_id>"),
    ("POST", "/api/conversations/<conversation_id>/messages"),
    ("GET", "/api/conversations/<conversation_id>/messages/<int:message_id>"),
}


def _guarded_routes(app) -> list[tuple[str, str, dict]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in FRAMEWORK_ENDPOINTS or not rule.rule.startswith(GUARDED_PREFIXES):
            continue
        access = getattr(app.view_functions[rule.endpoint], "_hub_auth", {})
        if access.get("public"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule, access))
    return routes


def test_every_guarded_route_declares_whether_an_api_key_may_call_it(app) -> None:
    routes = _guarded_routes(app)
    assert len(routes) > 20
    undeclared = [(m, r) for m, r, access in routes if "api_key" not in access]
    assert undeclared == []
    key_routes = {(m, r) for m, r, access in routes if access["api_key"]}
    assert key_routes == API_KEY_ROUTES


def test_an_api_key_is_refused_on_every_route_outside_its_scope(app, client) -> None:
    """Walk the URL map with a real key of an admin: every route outside the key scopes answers
    403 `api_key_not_allowed` before it reads its input or looks anything up."""
    from tests.accounts.helpers import bearer, login, user_with_password

    owner = user_with_password(role="admin")
    session = bearer(login(client, owner.email).json["access_token"])
    key = client.post("/api/keys", headers=session, json={"name": "scoped"}).json["key"]
    refused = []
    for method, rule, access in _guarded_routes(app):
        if access["api_key"]:
            continue
        url = re.sub(r"<(?:int:)?[^>]+>", "1", rule)
        response = client.open(url, method=method, json={}, headers={"Authorization": f"Bearer {key}"})
        if response.status_code != 403 or response.json["error"]["code"] != "api_key_not_allowed":
            refused.append((method, url, response.status_code))
    assert refused == []

"""Every API view is either guarded by `require_auth` or explicitly marked `public`."""

from __future__ import annotations

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

"""Security headers: CSP with nonces, frame denial, no-sniff; HSTS only in production; the
Swagger UI page's inline script and style are allowed by hash."""

from __future__ import annotations

import base64
import hashlib
import re

from app import create_app
from tests.conftest import make_settings


def test_headers_on_api_responses(client) -> None:
    response = client.get("/healthz")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_in_production(migrated_database) -> None:
    settings = make_settings(HUB_ENV="production", SECRET_KEY="p" * 40,
                             HUB_MAIL_LOG_IN_PRODUCTION=True)
    response = create_app(settings).test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_docs_page_inline_script_is_allowed_by_hash(client) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    script = re.search(rb"<script>(.*?)</script>", response.data, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
    assert f"'sha256-{digest}'" in response.headers["Content-Security-Policy"]

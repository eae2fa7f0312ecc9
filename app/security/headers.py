"""Security headers on every response: CSP with a per-request nonce, frame denial, no-sniff,
a same-origin referrer policy (reset links carry a token), and HSTS in production.

Pages put their scripts in `app/static/` or use `nonce="{{ csp_nonce() }}"`. The Swagger UI
page that APIFlask renders has an inline script and style, and Flask-Admin's pages a few fixed
event handlers: their hashes join those pages' policies (nothing else inline runs).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

from flask import Flask, Response, g, request

from app.config import Settings

DOCS_PATH = "/api/docs"
ADMIN_PATH = "/admin/"
_INLINE = {"script": re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I),
           "style": re.compile(rb"<style[^>]*>(.*?)</style>", re.S | re.I),
           "handler": re.compile(rb"\son[a-z]+=\"([^\"]*)\"", re.I)}


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _inline_hashes(response: Response, kind: str) -> list[str]:
    return ["'sha256-" + base64.b64encode(hashlib.sha256(m).digest()).decode() + "'"
            for m in _INLINE[kind].findall(response.get_data())]


def content_security_policy(script_sources: list[str], style_sources: list[str]) -> str:
    return "; ".join([
        "default-src 'self'",
        " ".join(["script-src 'self'", *script_sources]),
        " ".join(["style-src 'self'", *style_sources]),
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def init_security_headers(app: Flask, settings: Settings) -> None:
    production = settings.HUB_ENV == "production"
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _security_headers(response: Response) -> Response:
        scripts, styles = [f"'nonce-{csp_nonce()}'"], [f"'nonce-{csp_nonce()}'"]
        if request.path == DOCS_PATH and response.mimetype == "text/html":
            scripts += _inline_hashes(response, "script")
            styles += _inline_hashes(response, "style")
        if request.path.startswith(ADMIN_PATH) and response.mimetype == "text/html":
            # Flask-Admin's templates carry a few fixed event handlers (onclick="return false;")
            handlers = sorted(set(_inline_hashes(response, "handler")))
            scripts += ["'unsafe-hashes'", *handlers] if handlers else []
        response.headers.setdefault("Content-Security-Policy",
                                    content_security_policy(scripts, styles))
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if production:
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=63072000; includeSubDomains")
        return response

"""Binds the security layer to an app: the authenticators (in the order they are tried), proxy
headers, token revocation list, web sessions and CSRF, security headers, rate limits, and Google
sign-in. Runs after the blueprints are
registered (rate limits attach to their views)."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import Settings
from app.security.api_key_auth import authenticate_api_key
from app.security.authenticate import register_authenticator
from app.security.headers import init_security_headers
from app.security.jwt_auth import authenticate_jwt
from app.security.limits import init_rate_limits
from app.security.revocation import EXTENSION_KEY, build_revocation_list
from app.security.sessions import authenticate_session, init_sessions
from app.services.runtime import current_runtime


def init_security(app: Flask, settings: Settings) -> None:
    for authenticator in (authenticate_jwt, authenticate_api_key, authenticate_session):
        register_authenticator(app, authenticator)
    if settings.HUB_TRUSTED_PROXY_COUNT:
        count = settings.HUB_TRUSTED_PROXY_COUNT
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count,  # type: ignore[method-assign]
                                x_host=count)
    with app.app_context():
        client = current_runtime().redis
    app.extensions[EXTENSION_KEY] = build_revocation_list(settings, client)
    init_sessions(app, settings)
    init_security_headers(app, settings)
    init_rate_limits(app, settings)
    if settings.google_enabled:
        from app.security.google import init_google

        init_google(app, settings)

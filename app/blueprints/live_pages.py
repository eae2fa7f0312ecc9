"""The dashboard pages that drive jobs and credits: /chat, /video, /credits.

They are shells: the page's module script (`app/static/js/`) calls the JSON API with the
session (and its CSRF token) and follows jobs over `WS /ws/jobs/<id>`, so the pages show
exactly what API clients get.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from app.security.pages import page_auth

bp = Blueprint("live_pages", __name__)


@bp.get("/chat")
@page_auth()
def chat() -> str:
    return render_template("pages/chat.html")


@bp.get("/video")
@page_auth()
def video() -> str:
    return render_template("pages/video.html")


@bp.get("/credits")
@page_auth()
def credits() -> str:
    return render_template("pages/credits.html")

"""Serves Swagger UI's assets from the `swagger-ui-bundle` package: no CDN, works offline."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from app.security import public

bp = Blueprint("docs_assets", __name__)

SWAGGER_UI_STATIC = "/api/docs/assets"


@bp.get(f"{SWAGGER_UI_STATIC}/<path:filename>")
@public
def swagger_asset(filename: str) -> Response:
    return send_from_directory(str(swagger_ui_path), filename, max_age=86_400)

"""Smart AI Hub: the application factory.

`create_app()` reads as a table of contents. It connects to nothing at import time; with no
environment at all it runs the embedded default (SQLite, in-memory queue and events).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apiflask import APIFlask

from app.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from app.error_tracking import Component

__version__ = "0.1.0"


def create_app(settings: Settings | None = None, *, component: Component = "web") -> APIFlask:
    """The app for one process; `component` (web, worker, scheduler) names it to error
    tracking, which starts first so the broker built below reports failing actors."""
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            raise SystemExit(f"configuration error: {exc}") from None
    register_error_tracking(settings, component)
    app = APIFlask(__name__, title="Smart AI Hub API", version=__version__,
                   spec_path="/api/openapi.json", docs_path="/api/docs")
    register_request_metrics(app)
    register_logging(app, settings)
    register_request_scope(app)
    settings = resolve_secret_key(settings)
    configure_app(app, settings)
    register_json_input(app)
    register_extensions(app, settings)
    register_runtime(app, settings)
    register_error_handlers(app)
    register_blueprints(app)
    register_openapi(app)
    register_security(app, settings)
    register_cli(app)
    return app


def register_error_tracking(settings: Settings, component: Component) -> None:
    from app.error_tracking import init_error_tracking

    init_error_tracking(settings, component=component, release=__version__)


def register_request_metrics(app: APIFlask) -> None:
    """First, so that its after-request hook runs last and counts the final status."""
    from app.blueprints.request_metrics import init_request_metrics

    init_request_metrics(app)


def register_request_scope(app: APIFlask) -> None:
    from app.blueprints.request_scope import init_request_scope

    init_request_scope(app)


def resolve_secret_key(settings: Settings) -> Settings:
    """`settings` with a SECRET_KEY: the one set, else the instance directory's own (generated
    on first run), so no two installations share a secret and every process of one agrees."""
    from app.security.instance_secret import instance_secret_key

    if settings.SECRET_KEY:
        return settings
    try:
        secret = instance_secret_key(settings.HUB_INSTANCE_DIR)
    except ConfigError as exc:
        raise SystemExit(f"configuration error: {exc}") from None
    return settings.model_copy(update={"SECRET_KEY": secret})


def configure_app(app: APIFlask, settings: Settings) -> None:
    from app.blueprints.docs import SWAGGER_UI_STATIC

    app.config.update(
        SECRET_KEY=settings.SECRET_KEY,
        MAX_CONTENT_LENGTH=settings.HUB_MAX_CONTENT_LENGTH_BYTES,
        TESTING=settings.HUB_ENV == "test",
        JSON_SORT_KEYS=False,
        SWAGGER_UI_CSS=f"{SWAGGER_UI_STATIC}/swagger-ui.css",
        SWAGGER_UI_BUNDLE_JS=f"{SWAGGER_UI_STATIC}/swagger-ui-bundle.js",
        SWAGGER_UI_STANDALONE_PRESET_JS=f"{SWAGGER_UI_STATIC}/swagger-ui-standalone-preset.js",
        DOCS_FAVICON=f"{SWAGGER_UI_STATIC}/favicon-32x32.png",
        VALIDATION_ERROR_STATUS_CODE=422,
        OPENAPI_VERSION="3.0.3",  # the bundled Swagger UI (4.15) cannot render OpenAPI 3.1
    )


def register_json_input(app: APIFlask) -> None:
    from app.json_input import init_json_input

    init_json_input(app)


def register_logging(app: APIFlask, settings: Settings) -> None:
    from app.log import configure_logging, init_request_ids

    configure_logging(settings)
    init_request_ids(app)


def register_extensions(app: APIFlask, settings: Settings) -> None:
    from app.database import init_database
    from app.extensions import sock

    init_database(app, settings)
    sock.init_app(app)


def register_runtime(app: APIFlask, settings: Settings) -> None:
    from app.queue import build_broker, install_broker
    from app.services.runtime import EXTENSION_KEY, Runtime, build_event_stream, build_redis

    client = build_redis(settings)
    broker = build_broker(settings)
    app.extensions[EXTENSION_KEY] = Runtime(settings=settings, redis=client,
                                            events=build_event_stream(settings, client),
                                            broker=broker)
    install_broker(app, broker, settings)


def register_error_handlers(app: APIFlask) -> None:
    from app.errors import register_error_handlers as register

    register(app)


def register_blueprints(app: APIFlask) -> None:
    from app.blueprints import register_blueprints as register

    register(app)


def register_openapi(app: APIFlask) -> None:
    from app.openapi import init_openapi

    init_openapi(app)


def register_security(app: APIFlask, settings: Settings) -> None:
    from app.security.setup import init_security

    init_security(app, settings)


def register_cli(app: APIFlask) -> None:
    from app.cli import register_cli as register

    register(app)

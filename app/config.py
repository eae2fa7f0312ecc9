"""Typed settings, parsed once from the environment (and an optional `.env` file).

Every backend (database, broker, event stream, cache) is chosen here and nowhere else:
the rest of the code asks the settings which one is in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 — refused in production

BackendKind = Literal["embedded", "redis", "rabbitmq"]


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """All settings the hub reads. Names follow the ecosystem; hub-only ones start with HUB_."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    HUB_ENV: Literal["development", "production", "test"] = "development"
    SECRET_KEY: str = DEFAULT_SECRET_KEY
    PORT: int = 5000
    DATABASE_URL: str = ""
    REDIS_URL: str = ""
    BROKER_URL: str = ""
    HUB_INSTANCE_DIR: Path = DEFAULT_INSTANCE_DIR
    HUB_REDIS_PREFIX: str = "hub:"
    HUB_QUEUE_PREFIX: str = ""
    HUB_DB_POOL_SIZE: int = Field(default=20, ge=1)
    HUB_DB_POOL_TIMEOUT_S: float = Field(default=10.0, gt=0)
    HUB_EMBEDDED_WORKER_THREADS: int = Field(default=8, ge=0)
    HUB_EVENT_TTL_S: int = Field(default=3600, ge=1)
    HUB_LOG_LEVEL: str = "INFO"
    HUB_LOG_JSON: bool | None = None  # None: JSON in production, readable elsewhere
    HUB_MAX_CONTENT_LENGTH_BYTES: int = Field(default=2 * 1024 * 1024, ge=1024)
    HUB_ADMIN_EMAIL: str = ""
    HUB_ADMIN_PASSWORD: str = ""
    SENTRY_DSN: str = ""

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and urlparse(value).scheme not in {"sqlite", "postgres", "postgresql"}:
            raise ValueError("must start with sqlite:/// or postgresql://")
        if value.startswith(("postgres://", "postgresql://")) and not urlparse(value).hostname \
                and "host=" not in value:
            raise ValueError("a PostgreSQL URL needs a host, e.g. postgresql://user@host/db")
        return value

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if value and urlparse(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("BROKER_URL")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        if value and urlparse(value).scheme not in {"amqp", "amqps", "redis", "rediss"}:
            raise ValueError("must start with amqp:// or redis://")
        return value

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.HUB_ENV == "production":
            if self.SECRET_KEY == DEFAULT_SECRET_KEY or len(self.SECRET_KEY) < 32:
                raise ValueError("SECRET_KEY: production needs a random secret of 32+ characters")
            if not self.DATABASE_URL:
                raise ValueError("DATABASE_URL: production needs a PostgreSQL database")
        return self

    # --- derived choices: the one place backends are picked -------------------------------
    @property
    def database_url(self) -> str:
        return self.DATABASE_URL or f"sqlite:///{self.HUB_INSTANCE_DIR / 'hub.sqlite3'}"

    @property
    def broker_kind(self) -> BackendKind:
        url = self.broker_url
        if not url:
            return "embedded"
        return "rabbitmq" if url.startswith("amqp") else "redis"

    @property
    def broker_url(self) -> str:
        return self.BROKER_URL or self.REDIS_URL

    @property
    def uses_redis(self) -> bool:
        """Events, caches, rate limits and revocations live in Redis when it is configured."""
        return bool(self.REDIS_URL)

    @property
    def log_json(self) -> bool:
        return self.HUB_LOG_JSON if self.HUB_LOG_JSON is not None else self.HUB_ENV == "production"

    # --- payments (Stripe) -------------------------------------------------------------------
    STRIPE_SECRET_KEY: str = ""
    STRIPE_WEBHOOK_SECRET: str = ""
    STRIPE_API_BASE: str = ""  # empty: Stripe's own https://api.stripe.com
    HUB_PUBLIC_URL: str = "http://127.0.0.1:5000"
    HUB_ALLOWED_REDIRECT_ORIGINS: str = ""  # comma-separated; empty: HUB_PUBLIC_URL's origin
    HUB_STRIPE_WEBHOOK_TOLERANCE_S: int = Field(default=300, ge=1)
    HUB_RECONCILE_LOOKBACK_HOURS: int = Field(default=48, ge=1, le=24 * 30)

    @field_validator("HUB_PUBLIC_URL", "STRIPE_API_BASE")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and (urlparse(value).scheme not in {"http", "https"} or not urlparse(value).netloc):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("HUB_ALLOWED_REDIRECT_ORIGINS")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in filter(None, (part.strip() for part in value.split(","))):
            cls._http_url(origin)
        return value

    @property
    def allowed_redirect_origins(self) -> tuple[str, ...]:
        """Origins (scheme://host[:port]) that checkout success and cancel URLs may point to."""
        raw = [part.strip() for part in self.HUB_ALLOWED_REDIRECT_ORIGINS.split(",") if part.strip()]
        return tuple(origin_of(url) for url in (raw or [self.HUB_PUBLIC_URL]))

    @property
    def payments_enabled(self) -> bool:
        return bool(self.STRIPE_SECRET_KEY)


def origin_of(url: str) -> str:
    """`https://Hub.example.com:443/x` → `https://hub.example.com` (default ports dropped)."""
    parts = urlparse(url.strip())
    host = (parts.hostname or "").lower()
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme.lower()}://{host}{port}"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus `overrides`; raise ConfigError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) if err["loc"] else ""
        message = err["msg"].removeprefix("Value error, ")
        if not name and ":" in message:
            name, message = (part.strip() for part in message.split(":", 1))
        raise ConfigError(f"{name}: {message}") from None

"""Typed settings, parsed once from the environment (and an optional `.env` file).

Every backend (database, broker, event stream, cache) is chosen here and nowhere else:
the rest of the code asks the settings which one is in force.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.config.channels import ChannelConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"
# The built-in SECRET_KEY of earlier versions: public, so anything signed with it can be forged.
# Refused everywhere; with no SECRET_KEY a random one is generated into the instance directory.
PUBLIC_SECRET_KEYS = frozenset({"dev-insecure-secret-key-change-me"})

BackendKind = Literal["embedded", "redis", "rabbitmq"]


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


MIN_RETENTION_DAYS = 31  # longer than the usage views' 30 days


class Settings(BaseSettings):
    """All settings the hub reads. Names follow the ecosystem; hub-only ones start with HUB_."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    HUB_ENV: Literal["development", "production", "test"] = "development"
    SECRET_KEY: str = ""  # empty: generated on first run into HUB_INSTANCE_DIR (not in production)
    PORT: int = 5000
    DATABASE_URL: str = ""
    REDIS_URL: str = ""
    BROKER_URL: str = ""
    HUB_INSTANCE_DIR: Path = DEFAULT_INSTANCE_DIR
    HUB_REDIS_PREFIX: str = "hub:"
    HUB_QUEUE_PREFIX: str = ""
    HUB_DB_POOL_SIZE: int = Field(default=20, ge=1)
    HUB_DB_POOL_TIMEOUT_S: float = Field(default=10.0, gt=0)
    # Redis connections per process. A thread holds one for as long as it blocks on a job's
    # stream (each WebSocket watcher, each relayed stream), so this must exceed the threads
    # (HUB_WEB_THREADS, WORKER_THREADS): redis-py's own default, 100, refused the 101st watcher.
    HUB_REDIS_MAX_CONNECTIONS: int = Field(default=10_000, ge=1)
    HUB_EMBEDDED_WORKER_THREADS: int = Field(default=8, ge=0)
    HUB_EVENT_TTL_S: int = Field(default=3600, ge=1)
    HUB_LOG_LEVEL: str = "INFO"
    HUB_LOG_JSON: bool | None = None  # None: JSON in production, readable elsewhere
    HUB_MAX_CONTENT_LENGTH_BYTES: int = Field(default=2 * 1024 * 1024, ge=1024)
    HUB_ADMIN_EMAIL: str = ""
    HUB_ADMIN_PASSWORD: str = ""
    SENTRY_DSN: str = ""  # empty: no error tracking, nothing sent (app/error_tracking.py)
    SENTRY_ENVIRONMENT: str = ""  # empty: HUB_ENV
    SENTRY_RELEASE: str = ""  # empty: smart-ai-hub@<version>
    SENTRY_TRACES_SAMPLE_RATE: float = Field(default=0.0, ge=0, le=1)  # 0: errors only
    # --- credits and the ledger ---
    HUB_BALANCE_CACHE_TTL_S: int = Field(default=60, ge=1)

    # --- AI providers and the router (app/providers/) ---------------------------------------
    OPENAI_API_KEY: str = ""
    OPENAI_BASE_URL: str = ""  # includes /v1; empty: the SDK's default
    ANTHROPIC_API_KEY: str = ""
    ANTHROPIC_BASE_URL: str = ""  # without /v1; empty: the SDK's default
    GEMINI_API_KEY: str = ""  # Google's Gemini API (Veo video); GOOGLE_API_KEY wins, as in the SDK
    GOOGLE_API_KEY: str = ""
    GEMINI_BASE_URL: str = ""  # without the API version; empty: the SDK's default
    HUB_OPENAI_ORGANIZATION: str = ""
    HUB_PROVIDER_TIMEOUT_S: float = Field(default=60.0, gt=0)
    HUB_PROVIDER_CONNECT_TIMEOUT_S: float = Field(default=5.0, gt=0)
    HUB_PROVIDER_CHANNELS: Annotated[list[ChannelConfig], NoDecode] = []  # JSON
    HUB_MODEL_FALLBACKS: Annotated[dict[str, list[str]], NoDecode] = {}  # JSON
    HUB_PROVIDER_MAX_ATTEMPTS: int = Field(default=3, ge=1, le=10)
    HUB_PROVIDER_RETRY_INITIAL_S: float = Field(default=0.5, ge=0)
    HUB_PROVIDER_RETRY_MAX_S: float = Field(default=8.0, ge=0)
    HUB_BREAKER_FAILURE_THRESHOLD: int = Field(default=5, ge=1)
    HUB_BREAKER_COOLDOWN_S: float = Field(default=30.0, gt=0)
    HUB_LOCAL_PROVIDER: bool = True
    HUB_LOCAL_TOKEN_DELAY_S: float = Field(default=0.02, ge=0)
    HUB_LOCAL_VIDEO_RENDER_S: float = Field(default=3.0, ge=0)
    HUB_ANTHROPIC_COUNT_TOKENS: bool = True
    HUB_TOKEN_COUNT_TIMEOUT_S: float = Field(default=2.0, gt=0)
    HUB_STORAGE_DIR: Path = DEFAULT_INSTANCE_DIR / "storage"
    # --- backups (`flask backup`) ---
    HUB_BACKUP_DIR: Path | None = None  # None: HUB_INSTANCE_DIR/backups (`backup_dir`)
    HUB_BACKUP_KEEP: int = Field(default=14, ge=1)  # archives kept; older ones are deleted

    @field_validator("HUB_PROVIDER_CHANNELS", "HUB_MODEL_FALLBACKS", mode="before")
    @classmethod
    def _json_value(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            if not value.strip():
                return [] if info.field_name == "HUB_PROVIDER_CHANNELS" else {}
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
        return value

    # --- jobs ----------------------------------------------------------------------------------
    HUB_JOB_LEASE_S: int = Field(default=30, ge=2)
    HUB_JOB_MAX_ATTEMPTS: int = Field(default=3, ge=1)
    HUB_JOB_RESEND_AFTER_S: int = Field(default=300, ge=1)
    # The scheduler's Redis leader lock: the leader renews it every third of this; one that
    # cannot (Redis unreachable, the lock deleted or taken) stops enqueuing and stands by, and a
    # stand-by takes over at most this long after the leader last renewed it.
    HUB_SCHEDULER_LOCK_TTL_S: int = Field(default=60, ge=3)
    # Usage records and job details older than this many days are rolled up per day and
    # dropped by the daily retention pass (app.services.retention); 0 keeps them forever. At
    # least 31 when set, so the 30-day usage views always read detailed rows.
    HUB_RETENTION_DAYS: int = Field(default=400, ge=0)
    HUB_CHAT_TIME_LIMIT_S: int = Field(default=600, ge=5)
    HUB_VIDEO_TIME_LIMIT_S: int = Field(default=1800, ge=5)
    HUB_WS_AUTH_TIMEOUT_S: float = Field(default=10.0, gt=0)
    # The longest a job's WebSocket sleeps without looking at its client. It wakes at once when
    # its job has new events (one Redis reader per process follows every watched job,
    # app.events.fanout) or the client sends a message or leaves; this only bounds a wake-up
    # that never comes. A quiet socket costs no Redis traffic and no wake-ups in between.
    HUB_WS_READ_SLICE_S: float = Field(default=3.0, gt=0, le=3)
    HUB_STREAM_IDLE_TIMEOUT_S: float = Field(default=300.0, gt=0)
    # After a chat job's first delta, deltas arriving within this window are relayed as one
    # event (0: every chunk its own event). The first delta is never held back.
    HUB_STREAM_COALESCE_MS: float = Field(default=10.0, ge=0, le=1000)
    # In a web process, the work of streams past their first token (relaying later batches,
    # settling) takes turns, one step at a time, so new requests' first tokens go first under
    # CPU saturation (app.jobs.runs.tail_lane); a step waits at most this long for its turn,
    # then goes ahead anyway. 0: no turns.
    HUB_STREAM_TAIL_WAIT_MS: float = Field(default=20.0, ge=0, le=10000)
    # Who runs a /v1 chat request: `web`, the web process that serves the caller (no broker
    # hop, no relay read: the gateway's fast path), or `queue`, a Dramatiq worker like every
    # other job. Either way the job is held, leased, mirrored to its event stream and settled.
    HUB_COMPAT_EXECUTOR: Literal["web", "queue"] = "web"
    # A web run streams to its caller directly and mirrors its text to the job's event stream,
    # which other watchers read and the reaper bills from if the web process dies. 0 (the
    # default) sends every delivery there before the caller gets it (the answer is read before
    # the next write). A window (e.g. 100) mirrors at most that often: less CPU for a model that
    # streams token by token, but if the web process dies, up to that much of the last output is
    # never charged (docs/decisions/mirror-every-delivery.md).
    HUB_COMPAT_MIRROR_MS: float = Field(default=0.0, ge=0, le=1000)
    # How long a web thread keeps a kept-alive connection after answering it, to serve the
    # client's next request itself (app.web_worker); 0: hand it back to the poller at once.
    HUB_WEB_LINGER_MS: float = Field(default=50.0, ge=0, le=5000)
    # How long a web process reuses an API key's row and a model's price it read, for requests
    # that open a job (PostgreSQL only): the job's open re-checks both in the statement that
    # places the hold (migration 010), so a revoked key or a new price is never missed. 0: off.
    HUB_KEY_PRICE_CACHE_S: float = Field(default=30.0, ge=0, le=3600)

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and urlparse(value).scheme not in {"sqlite", "postgres", "postgresql"}:
            raise ValueError("must start with sqlite:/// or postgresql://")
        if value.startswith(("postgres://", "postgresql://")) and not urlparse(value).hostname \
                and "host=" not in value:
            raise ValueError("a PostgreSQL URL needs a host, e.g. postgresql://user@host/db")
        return value

    @field_validator("HUB_RETENTION_DAYS")
    @classmethod
    def _retention_days(cls, value: int) -> int:
        if 0 < value < MIN_RETENTION_DAYS:
            raise ValueError(f"must be 0 (keep forever) or at least {MIN_RETENTION_DAYS}")
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

    @field_validator("SECRET_KEY")
    @classmethod
    def _not_public(cls, value: str) -> str:
        if value in PUBLIC_SECRET_KEYS:
            raise ValueError("this is the old built-in default, which is public: unset it to have "
                             "a random one generated, or set a random one")
        return value

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.HUB_ENV == "production":
            if len(self.SECRET_KEY) < 32:
                raise ValueError("SECRET_KEY: production needs a random secret of 32+ characters")
            if not self.DATABASE_URL:
                raise ValueError("DATABASE_URL: production needs a PostgreSQL database")
        return self

    # --- derived choices: the one place backends are picked -------------------------------
    @property
    def database_url(self) -> str:
        return self.DATABASE_URL or f"sqlite:///{self.HUB_INSTANCE_DIR / 'hub.sqlite3'}"

    @property
    def backup_dir(self) -> Path:
        return self.HUB_BACKUP_DIR or self.HUB_INSTANCE_DIR / "backups"

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

    # --- accounts and security -------------------------------------------------------------
    HUB_PUBLIC_URL: str = ""  # the hub's own origin, used in mailed links; default loopback:PORT
    HUB_ACCESS_TOKEN_TTL_S: int = Field(default=15 * 60, ge=30)
    HUB_REFRESH_TOKEN_TTL_S: int = Field(default=30 * 86400, ge=60)
    HUB_REMEMBER_ME_DAYS: int = Field(default=30, ge=1)
    HUB_API_KEY_ROTATION_GRACE_S: int = Field(default=0, ge=0)
    HUB_RATE_LIMIT_LOGIN: str = "10/minute;50/hour"
    HUB_RATE_LIMIT_REGISTER: str = "5/minute;20/hour"
    HUB_RATE_LIMIT_PASSWORD_FORGOT: str = "5/minute;20/hour"  # noqa: S105 — a rate
    HUB_RATE_LIMIT_OTP: str = "10/minute;50/hour"
    # Per account (not per IP) on the routes that check the current password: password change
    # and turning two-factor off, on the API and the account page.
    HUB_RATE_LIMIT_PASSWORD_CHECK: str = "5/minute;20/hour"  # noqa: S105 — a rate
    HUB_RATE_LIMIT_API: str = "600/minute"
    HUB_TRUSTED_PROXY_COUNT: int = Field(default=0, ge=0)
    SMTP_URL: str = ""
    # Production without SMTP_URL would write every mail (verification codes, reset links) to
    # the log; it refuses to start unless this says that is what the operator wants.
    HUB_MAIL_LOG_IN_PRODUCTION: bool = False
    HUB_SMTP_TIMEOUT_S: float = Field(default=10.0, gt=0)
    HUB_MAIL_FROM: str = "Smart AI Hub <no-reply@localhost>"
    GOOGLE_CLIENT_ID: str = ""
    GOOGLE_CLIENT_SECRET: str = ""
    GOOGLE_DISCOVERY_URL: str = "https://accounts.google.com/.well-known/openid-configuration"
    HUB_TOTP_ISSUER: str = "Smart AI Hub"
    # /metrics (app.security.metrics_access): a bearer token scrapers must send; without one,
    # production does not serve /metrics unless HUB_METRICS_PUBLIC=true (internal address only).
    HUB_METRICS_TOKEN: str = ""
    HUB_METRICS_PUBLIC: bool = False

    @field_validator("HUB_RATE_LIMIT_LOGIN", "HUB_RATE_LIMIT_REGISTER",
                     "HUB_RATE_LIMIT_PASSWORD_FORGOT", "HUB_RATE_LIMIT_OTP", "HUB_RATE_LIMIT_API",
                     "HUB_RATE_LIMIT_PASSWORD_CHECK")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError("must be a rate like '10/minute' or '10/minute;50/hour'") from None
        return value

    @field_validator("SMTP_URL")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if value and urlparse(value).scheme not in {"smtp", "smtps", "smtp+starttls"}:
            raise ValueError("must start with smtp://, smtp+starttls:// or smtps://")
        return value

    @field_validator("HUB_METRICS_TOKEN")
    @classmethod
    def _metrics_token(cls, value: str) -> str:
        if value and len(value) < 16:
            raise ValueError("use a random secret of 16+ characters")
        return value

    @model_validator(mode="after")
    def _production_mail(self) -> Settings:
        if self.HUB_ENV == "production" and not self.SMTP_URL \
                and not self.HUB_MAIL_LOG_IN_PRODUCTION:
            raise ValueError("SMTP_URL: production needs a mail server (smtp://, smtp+starttls:// "
                             "or smtps://): without one, verification codes and password reset "
                             "links are written to the log; set HUB_MAIL_LOG_IN_PRODUCTION=true "
                             "to accept that")
        return self

    @property
    def public_url(self) -> str:
        return (self.HUB_PUBLIC_URL or f"http://127.0.0.1:{self.PORT}").rstrip("/")

    @property
    def google_enabled(self) -> bool:
        return bool(self.GOOGLE_CLIENT_ID and self.GOOGLE_CLIENT_SECRET)

    # --- payments (Stripe) -------------------------------------------------------------------
    STRIPE_SECRET_KEY: str = ""
    STRIPE_WEBHOOK_SECRET: str = ""
    STRIPE_API_BASE: str = ""  # empty: Stripe's own https://api.stripe.com
    HUB_ALLOWED_REDIRECT_ORIGINS: str = ""  # comma-separated; empty: the hub's own origin
    HUB_STRIPE_WEBHOOK_TOLERANCE_S: int = Field(default=300, ge=1)
    HUB_RECONCILE_LOOKBACK_HOURS: int = Field(default=48, ge=1, le=24 * 30)

    @field_validator("STRIPE_API_BASE")
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
        return tuple(origin_of(url) for url in (raw or [self.public_url]))

    @property
    def google_api_key(self) -> str:
        """The Gemini API key: GOOGLE_API_KEY when set, else GEMINI_API_KEY (the SDK's order)."""
        return self.GOOGLE_API_KEY or self.GEMINI_API_KEY

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


def configured_channels(settings: Settings) -> list[ChannelConfig]:
    """Every enabled channel: the environment's defaults, then HUB_PROVIDER_CHANNELS."""
    channels: dict[str, ChannelConfig] = {}
    if settings.OPENAI_API_KEY:
        channels["openai"] = ChannelConfig(id="openai", provider="openai")
    if settings.ANTHROPIC_API_KEY:
        channels["anthropic"] = ChannelConfig(id="anthropic", provider="anthropic")
    if settings.google_api_key:
        channels["google"] = ChannelConfig(id="google", provider="google")
    if settings.HUB_LOCAL_PROVIDER:
        channels["local"] = ChannelConfig(id="local", provider="local")
    for channel in settings.HUB_PROVIDER_CHANNELS:
        channels[channel.id] = channel
    resolved = [resolve_defaults(c, settings) for c in channels.values()]
    return [c for c in resolved if c.provider == "local" or c.api_key]


def resolve_defaults(channel: ChannelConfig, settings: Settings) -> ChannelConfig:
    """Fill the key, base URL, organisation and timeout a channel leaves to the environment."""
    key = {"openai": settings.OPENAI_API_KEY, "anthropic": settings.ANTHROPIC_API_KEY,
           "google": settings.google_api_key, "local": ""}[channel.provider]
    base_url = {"openai": settings.OPENAI_BASE_URL, "anthropic": settings.ANTHROPIC_BASE_URL,
                "google": settings.GEMINI_BASE_URL, "local": ""}[channel.provider]
    organization = settings.HUB_OPENAI_ORGANIZATION if channel.provider == "openai" else ""
    return channel.model_copy(update={
        "api_key": channel.api_key or key,
        "base_url": channel.base_url or base_url,
        "organization": channel.organization or organization,
        "timeout_s": channel.timeout_s or settings.HUB_PROVIDER_TIMEOUT_S,
    })


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

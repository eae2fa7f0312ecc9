"""Provider tests: a fake upstream on 127.0.0.1 and hubs configured to use it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask

from app import create_app
from app.providers.registry import EXTENSION_KEY, Registry
from app.services.runtime import current_redis
from tests.conftest import REDIS_PREFIX, _truncate_all_tables, make_settings
from tests.fake_upstream import FakeUpstream


class FakeClock:
    """Wall-clock time the test moves by hand."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class SleepRecorder:
    """Stands in for time.sleep: records each wait instead of waiting."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class Hub:
    app: Flask
    registry: Registry
    sleeps: SleepRecorder
    clock: Callable[[], float]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def upstream_settings(upstream: FakeUpstream, **overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "OPENAI_API_KEY": upstream.api_key, "OPENAI_BASE_URL": upstream.openai_base_url,
        "ANTHROPIC_API_KEY": upstream.api_key, "ANTHROPIC_BASE_URL": upstream.anthropic_base_url,
        "HUB_PROVIDER_TIMEOUT_S": 2.0, "HUB_PROVIDER_RETRY_INITIAL_S": 0.01,
        "HUB_PROVIDER_RETRY_MAX_S": 0.05, "HUB_LOCAL_TOKEN_DELAY_S": 0.0,
        "HUB_PROVIDER_CHANNELS": [], "HUB_MODEL_FALLBACKS": {},
        # Breaker state of its own for every hub, so tests never share it.
        "HUB_REDIS_PREFIX": f"{REDIS_PREFIX}{uuid.uuid4().hex[:8]}:",
    }
    base.update(overrides)
    return base


@pytest.fixture
def make_hub(settings, upstream, tmp_path) -> Iterator[Callable[..., Hub]]:
    """Build a hub wired to the fake upstream, with its app context pushed."""
    contexts = []

    def build(*, clock: Callable[[], float] = time.time, **overrides: object) -> Hub:
        overrides.setdefault("HUB_STORAGE_DIR", tmp_path / "storage")
        app = create_app(make_settings(**upstream_settings(upstream, **overrides)))
        context = app.app_context()
        context.push()
        contexts.append(context)
        sleeps = SleepRecorder()
        registry = Registry(app.extensions["hub"].settings, current_redis(), clock=clock,
                            sleep=sleeps)
        app.extensions[EXTENSION_KEY] = registry
        return Hub(app=app, registry=registry, sleeps=sleeps, clock=clock)

    yield build
    for context in reversed(contexts):
        context.pop()
    _truncate_all_tables()

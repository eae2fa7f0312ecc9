"""The per-app provider registry: channels with their adapters, the catalog, the breakers.

Built on first use from the app's settings (never at import time) and kept on the app, so SDK
clients and their connection pools are reused. Which adapter serves a channel is decided
here, from the channel's provider kind (`ADAPTER_FACTORIES`), and nowhere else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
from flask import current_app

from app.config import Settings, configured_channels
from app.config.channels import ChannelConfig, ProviderKind
from app.providers.breaker import BreakerPolicy, BreakerStore, MemoryBreakerStore, RedisBreakerStore
from app.providers.catalog import Catalog
from app.providers.channel import Channel
from app.providers.routing import Router

EXTENSION_KEY = "hub_providers"
_build_lock = threading.Lock()

AdapterFactory = Callable[[ChannelConfig, Settings], Channel]


# The adapters' modules are imported when a channel of their kind is built: a hub without an
# Anthropic key never loads the Anthropic SDK.
def _openai_channel(config: ChannelConfig, settings: Settings) -> Channel:
    from app.providers.openai_chat import OpenAIChat, build_client
    from app.providers.openai_embeddings import OpenAIEmbeddings
    from app.providers.sora import SoraVideo

    client = build_client(config, settings.HUB_PROVIDER_CONNECT_TIMEOUT_S)
    return Channel(config, OpenAIChat(client), SoraVideo(client), OpenAIEmbeddings(client))


def _anthropic_channel(config: ChannelConfig, settings: Settings) -> Channel:
    from app.providers.anthropic_chat import AnthropicChat, build_client

    return Channel(config, AnthropicChat(build_client(
        config, settings.HUB_PROVIDER_CONNECT_TIMEOUT_S)), None)


def _google_channel(config: ChannelConfig, settings: Settings) -> Channel:
    """Veo video only: the hub serves no Gemini chat model."""
    from app.providers.veo import VeoVideo, build_client

    return Channel(config, None, VeoVideo(build_client(config)))


def _local_channel(config: ChannelConfig, settings: Settings) -> Channel:
    from app.providers.local import LocalChat, LocalVideo
    from app.providers.local_embeddings import LocalEmbeddings

    return Channel(config, LocalChat(token_delay_s=settings.HUB_LOCAL_TOKEN_DELAY_S),
                   LocalVideo(render_s=settings.HUB_LOCAL_VIDEO_RENDER_S), LocalEmbeddings())


ADAPTER_FACTORIES: dict[ProviderKind, AdapterFactory] = {
    "openai": _openai_channel,
    "anthropic": _anthropic_channel,
    "google": _google_channel,
    "local": _local_channel,
}


def build_channel(config: ChannelConfig, settings: Settings) -> Channel:
    return ADAPTER_FACTORIES[config.provider](config, settings)


def build_breakers(settings: Settings, client: redis.Redis | None) -> BreakerStore:
    policy = BreakerPolicy(failure_threshold=settings.HUB_BREAKER_FAILURE_THRESHOLD,
                           cooldown_s=settings.HUB_BREAKER_COOLDOWN_S,
                           probe_lease_s=settings.HUB_PROVIDER_TIMEOUT_S +
                           settings.HUB_BREAKER_COOLDOWN_S)
    if client is None:
        return MemoryBreakerStore(policy)
    return RedisBreakerStore(policy, client, prefix=settings.HUB_REDIS_PREFIX)


class Registry:
    def __init__(self, settings: Settings, redis_client: redis.Redis | None, *,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        configs = configured_channels(settings)
        self.settings = settings
        self.catalog = Catalog(configs)
        self.channels = {c.id: build_channel(c, settings) for c in configs}
        self.breakers = build_breakers(settings, redis_client)
        self.router = Router(self, clock=clock, sleep=sleep)


def current_registry() -> Registry:
    """The app's registry, built from its settings on first use."""
    from app.services.runtime import current_runtime

    registry = current_app.extensions.get(EXTENSION_KEY)
    if registry is None:
        with _build_lock:
            registry = current_app.extensions.get(EXTENSION_KEY)
            if registry is None:
                runtime = current_runtime()
                registry = Registry(runtime.settings, runtime.redis)
                current_app.extensions[EXTENSION_KEY] = registry
    return registry


def current_catalog() -> Catalog:
    """The models the app's enabled channels offer."""
    return current_registry().catalog


def warm_up() -> None:
    """Build the registry and load every tokenizer the catalog uses, at process start-up, so
    the first requests do not pay for it (about a second of CPU per vocabulary) all at once."""
    from app.providers.tokens import encoding, vocabulary_of

    registry = current_registry()
    for name in sorted({vocabulary_of(spec.tokenizer) for spec in registry.catalog.specs()}):
        encoding(name)

"""Channels: one way to reach a provider (a key and a base URL), with a weight.

The environment gives one channel per configured provider (`openai` from `OPENAI_API_KEY`,
`anthropic` from `ANTHROPIC_API_KEY`, and the built-in `local`); `HUB_PROVIDER_CHANNELS`
(JSON) adds more, or replaces one of those by using its id. A channel without a key is
disabled, and a model no enabled channel serves is not offered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from app.config import Settings

ProviderKind = Literal["openai", "anthropic", "local"]


class ExtraModel(BaseModel):
    """A model a channel serves that the built-in catalog does not know (e.g. on vLLM)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")
    label: str = ""
    context_window: int = Field(default=8192, ge=1)
    max_output_tokens: int = Field(default=4096, ge=1)
    input_per_mtok_credits: int = Field(ge=1)
    output_per_mtok_credits: int = Field(ge=1)
    capabilities: tuple[str, ...] = ("chat",)


class ChannelConfig(BaseModel):
    """One entry of HUB_PROVIDER_CHANNELS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    provider: ProviderKind
    api_key: str = ""  # empty: the provider's key from the environment
    base_url: str = ""  # empty: the provider's base URL from the environment
    organization: str = ""
    weight: float = Field(default=1.0, gt=0)
    models: tuple[str | ExtraModel, ...] | None = None  # None: every catalog model of the provider
    timeout_s: float | None = Field(default=None, gt=0)

    @property
    def model_ids(self) -> tuple[str, ...] | None:
        if self.models is None:
            return None
        return tuple(m if isinstance(m, str) else m.id for m in self.models)

    @property
    def extra_models(self) -> tuple[ExtraModel, ...]:
        return tuple(m for m in self.models or () if isinstance(m, ExtraModel))


def configured_channels(settings: Settings) -> list[ChannelConfig]:
    """Every enabled channel: the environment's defaults, then HUB_PROVIDER_CHANNELS."""
    channels: dict[str, ChannelConfig] = {}
    if settings.OPENAI_API_KEY:
        channels["openai"] = ChannelConfig(id="openai", provider="openai")
    if settings.ANTHROPIC_API_KEY:
        channels["anthropic"] = ChannelConfig(id="anthropic", provider="anthropic")
    if settings.HUB_LOCAL_PROVIDER:
        channels["local"] = ChannelConfig(id="local", provider="local")
    for channel in settings.HUB_PROVIDER_CHANNELS:
        channels[channel.id] = channel
    resolved = [resolve_defaults(c, settings) for c in channels.values()]
    return [c for c in resolved if c.provider == "local" or c.api_key]


def resolve_defaults(channel: ChannelConfig, settings: Settings) -> ChannelConfig:
    """Fill the key, base URL, organisation and timeout a channel leaves to the environment."""
    key = {"openai": settings.OPENAI_API_KEY, "anthropic": settings.ANTHROPIC_API_KEY,
           "local": ""}[channel.provider]
    base_url = {"openai": settings.OPENAI_BASE_URL, "anthropic": settings.ANTHROPIC_BASE_URL,
                "local": ""}[channel.provider]
    organization = settings.HUB_OPENAI_ORGANIZATION if channel.provider == "openai" else ""
    return channel.model_copy(update={
        "api_key": channel.api_key or key,
        "base_url": channel.base_url or base_url,
        "organization": channel.organization or organization,
        "timeout_s": channel.timeout_s or settings.HUB_PROVIDER_TIMEOUT_S,
    })

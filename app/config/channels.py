"""Channels: one way to reach a provider (a key and a base URL), with a weight.

The environment gives one channel per configured provider (`openai` from `OPENAI_API_KEY`,
`anthropic` from `ANTHROPIC_API_KEY`, `google` from `GOOGLE_API_KEY` or `GEMINI_API_KEY`, and
the built-in `local`); `HUB_PROVIDER_CHANNELS`
(JSON) adds more, or replaces one of those by using its id. A channel without a key is
disabled, and a model no enabled channel serves is not offered. The settings own this
configuration: `app.config.configured_channels` resolves the enabled channels.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ProviderKind = Literal["openai", "anthropic", "google", "local"]


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

"""The model catalog: every model the hub knows, and which of them are offered.

A model is offered when at least one enabled channel serves it (see `channels`). Default prices
here seed the price history the first time a model is priced; operators change prices with
`flask prices set`, which adds a new version and never rewrites an old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.config.channels import ChannelConfig
from app.providers.errors import ModelNotFound
from app.providers.types import ModelInfo, ModelKind, Price

Tokenizer = Literal["o200k_base", "cl100k_base", "claude_estimate"]

# Images cost tokens too; without decoding the image the hub assumes the largest common case.
DEFAULT_IMAGE_TOKENS = 1_600


@dataclass(frozen=True)
class ModelSpec:
    id: str
    provider: str
    kind: ModelKind
    label: str
    context_window: int | None
    max_output_tokens: int | None
    capabilities: tuple[str, ...]
    default_price: Price
    tokenizer: Tokenizer = "o200k_base"
    video_seconds: tuple[int, ...] = ()
    video_sizes: tuple[str, ...] = ()
    max_tokens_param: str = "max_completion_tokens"  # OpenAI's current name; servers vary
    image_tokens: int = DEFAULT_IMAGE_TOKENS

    def info(self, price: Price | None = None) -> ModelInfo:
        return ModelInfo(id=self.id, provider=self.provider, kind=self.kind, label=self.label,
                         context_window=self.context_window,
                         max_output_tokens=self.max_output_tokens,
                         capabilities=self.capabilities, price=price or self.default_price,
                         video_seconds=self.video_seconds, video_sizes=self.video_sizes)


def _chat(model_id: str, provider: str, label: str, context: int, output: int,
          input_credits: int, output_credits: int, capabilities: tuple[str, ...] | None = None,
          **extra: object) -> ModelSpec:
    if capabilities is None:
        capabilities = ("chat", "vision") if provider != "local" else ("chat",)
    return ModelSpec(id=model_id, provider=provider, kind="chat", label=label,
                     context_window=context, max_output_tokens=output, capabilities=capabilities,
                     default_price=Price(input_per_mtok_credits=input_credits,
                                         output_per_mtok_credits=output_credits),
                     **extra)  # type: ignore[arg-type]


def _video(model_id: str, provider: str, label: str, per_second: int,
           sizes: tuple[str, ...]) -> ModelSpec:
    return ModelSpec(id=model_id, provider=provider, kind="video", label=label,
                     context_window=None, max_output_tokens=None, capabilities=("video",),
                     default_price=Price(per_second_credits=per_second),
                     video_seconds=(4, 8, 12), video_sizes=sizes)


SORA_SIZES = ("720x1280", "1280x720")
SORA_PRO_SIZES = (*SORA_SIZES, "1024x1792", "1792x1024")

# Default prices are the providers' list prices in credits (100,000 credits = US$1).
BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    _chat("gpt-4o", "openai", "GPT-4o", 128_000, 16_384, 250_000, 1_000_000),
    _chat("gpt-4o-mini", "openai", "GPT-4o mini", 128_000, 16_384, 15_000, 60_000,
          image_tokens=25_501),
    _chat("gpt-4.1", "openai", "GPT-4.1", 1_047_576, 32_768, 200_000, 800_000),
    _chat("gpt-4.1-mini", "openai", "GPT-4.1 mini", 1_047_576, 32_768, 40_000, 160_000),
    _chat("gpt-5", "openai", "GPT-5", 400_000, 128_000, 125_000, 1_000_000),
    _chat("gpt-5-mini", "openai", "GPT-5 mini", 400_000, 128_000, 25_000, 200_000),
    _chat("claude-sonnet-4-5", "anthropic", "Claude Sonnet 4.5", 200_000, 64_000,
          300_000, 1_500_000, tokenizer="claude_estimate"),
    _chat("claude-haiku-4-5", "anthropic", "Claude Haiku 4.5", 200_000, 64_000,
          100_000, 500_000, tokenizer="claude_estimate"),
    _chat("claude-sonnet-4-6", "anthropic", "Claude Sonnet 4.6", 200_000, 64_000,
          300_000, 1_500_000, tokenizer="claude_estimate"),
    _chat("claude-opus-4-5", "anthropic", "Claude Opus 4.5", 200_000, 64_000,
          500_000, 2_500_000, tokenizer="claude_estimate"),
    _video("sora-2", "openai", "Sora 2", 10_000, SORA_SIZES),
    _video("sora-2-pro", "openai", "Sora 2 Pro", 30_000, SORA_PRO_SIZES),
    _chat("local-echo", "local",
          "Local demo model (offline, built in: echoes your prompt, not an AI)",
          8_192, 4_096, 1_000, 2_000),
    _video("local-video", "local",
           "Local demo video (offline, built in: a fixed test clip, not an AI)", 100, SORA_SIZES),
)
_BUILTIN_BY_ID = {spec.id: spec for spec in BUILTIN_MODELS}


def _extra_spec(channel: ChannelConfig, model_id: str) -> ModelSpec | None:
    for extra in channel.extra_models:
        if extra.id == model_id:
            return _chat(extra.id, channel.provider, extra.label or extra.id,
                         extra.context_window, extra.max_output_tokens,
                         extra.input_per_mtok_credits, extra.output_per_mtok_credits,
                         capabilities=extra.capabilities, max_tokens_param="max_tokens",
                         tokenizer="claude_estimate" if channel.provider == "anthropic"
                         else "o200k_base")
    return None


def channel_serves(channel: ChannelConfig, spec: ModelSpec) -> bool:
    if channel.provider != spec.provider:
        return False
    return channel.model_ids is None or spec.id in channel.model_ids


class Catalog:
    """The models the configured channels offer, in catalog order."""

    def __init__(self, channels: list[ChannelConfig]) -> None:
        self.channels = channels
        specs: dict[str, ModelSpec] = {}
        for spec in BUILTIN_MODELS:
            if any(channel_serves(c, spec) for c in channels):
                specs[spec.id] = spec
        for channel in channels:
            for extra in channel.extra_models:
                specs.setdefault(extra.id, _extra_spec(channel, extra.id))  # type: ignore[arg-type]
        self._specs = specs

    def specs(self, kind: str | None = None) -> list[ModelSpec]:
        return [s for s in self._specs.values() if kind is None or s.kind == kind]

    def spec(self, model_id: str) -> ModelSpec:
        try:
            return self._specs[model_id]
        except KeyError:
            raise ModelNotFound(f"model {model_id!r} is not offered; GET /api/models lists "
                                "the models") from None

    def channels_for(self, model_id: str) -> list[ChannelConfig]:
        spec = self.spec(model_id)
        return [c for c in self.channels if channel_serves(c, spec)]


def current_catalog() -> Catalog:
    from app.providers.registry import current_registry

    return current_registry().catalog


def model_spec(model_id: str) -> ModelSpec:
    """The offered model's specification (no database access); raises ModelNotFound."""
    return current_catalog().spec(model_id)


def list_models(kind: str | None = None) -> list[ModelInfo]:
    """Every offered model (only enabled providers'), with its current price."""
    from app.providers.prices import current_prices

    specs = current_catalog().specs(kind)
    prices = current_prices(specs)
    return [spec.info(prices[spec.id]) for spec in specs]


def get_model(model_id: str) -> ModelInfo:
    """One offered model with its current price; raises ModelNotFound."""
    from app.providers.prices import current_prices

    spec = model_spec(model_id)
    return spec.info(current_prices([spec])[spec.id])


def builtin_spec(model_id: str) -> ModelSpec | None:
    """A built-in model's specification, offered or not (for operators' price tools)."""
    return _BUILTIN_BY_ID.get(model_id)


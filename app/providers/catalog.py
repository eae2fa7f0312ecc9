"""The model catalog: every model the hub knows, and which of them are offered.

The built-in models are data (`app/data/models.json`). A model is offered when at least one
enabled channel serves it (`app.config.channels`); a channel may add models of its own. Default
prices here (with their prompt-caching rates) seed the price history the first time a model is
priced (`app.services.prices`); operators change prices with `flask prices set`, which adds a
new version and never rewrites an old one. The current app's catalog is
`app.providers.registry.current_catalog()`.
Capabilities are names from `app.providers.capabilities`; an unknown one is an error
(`UnknownCapability`) when the catalog loads. So are a video model's choices: its options are
names from `VIDEO_OPTIONS`, its aspect ratios "W:H", its resolutions "<lines>p", its sizes
"WxH" (`InvalidVideoChoices`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.config.channels import ChannelConfig
from app.providers.capabilities import check_capabilities
from app.providers.errors import ModelNotFound
from app.providers.types import VIDEO_OPTIONS, ModelInfo, ModelKind, Price

Tokenizer = Literal["o200k_base", "cl100k_base", "claude_estimate"]

BUILTIN_MODELS_FILE = Path(__file__).resolve().parent.parent / "data" / "models.json"
# Images cost tokens too; without decoding the image the hub assumes the largest common case.
DEFAULT_IMAGE_TOKENS = 1_600
VIDEO_CHOICE_FORMS = {"video_sizes": re.compile(r"[1-9][0-9]*x[1-9][0-9]*"),
                      "video_aspect_ratios": re.compile(r"[1-9][0-9]*:[1-9][0-9]*"),
                      "video_resolutions": re.compile(r"[1-9][0-9]*p")}


class InvalidVideoChoices(ValueError):
    """A video model's catalog entry lists a choice the hub does not know, or in a wrong form."""


def check_video_choices(spec: ModelSpec) -> None:
    """InvalidVideoChoices naming the model and the first bad entry."""
    for name in spec.video_options:
        if name not in VIDEO_OPTIONS:
            raise InvalidVideoChoices(f"model {spec.id!r}: unknown video option {name!r} "
                                      f"(known: {', '.join(VIDEO_OPTIONS)})")
    for field_name, form in VIDEO_CHOICE_FORMS.items():
        for value in getattr(spec, field_name):
            if not isinstance(value, str) or not form.fullmatch(value):
                raise InvalidVideoChoices(f"model {spec.id!r}: {field_name} has {value!r}, "
                                          f"not of the form {form.pattern}")
    if any(not isinstance(s, int) or s < 1 for s in spec.video_seconds):
        raise InvalidVideoChoices(f"model {spec.id!r}: video_seconds must be whole seconds")


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
    video_aspect_ratios: tuple[str, ...] = ()  # "16:9", "9:16" (for models without sizes)
    video_resolutions: tuple[str, ...] = ()  # "720p", "1080p"
    video_options: tuple[str, ...] = ()  # from VIDEO_OPTIONS: what else the model accepts
    max_tokens_param: str = "max_completion_tokens"  # OpenAI's current name; servers vary
    image_tokens: int = DEFAULT_IMAGE_TOKENS
    max_dimensions: int | None = None  # embeddings: the largest `dimensions` (None: not accepted)
    max_input_tokens: int | None = None  # embeddings: the most tokens in one input

    def __post_init__(self) -> None:
        # every model is built here (the catalog file and channels' extra models alike)
        object.__setattr__(self, "capabilities", check_capabilities(self.id, self.capabilities))
        for name in ("video_seconds", "video_sizes", *VIDEO_CHOICE_FORMS, "video_options"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        check_video_choices(self)

    def supports(self, capability: str) -> bool:
        """Whether the model can do `capability` (a name from `app.providers.capabilities`)."""
        return capability in self.capabilities

    def info(self, price: Price | None = None) -> ModelInfo:
        return ModelInfo(id=self.id, provider=self.provider, kind=self.kind, label=self.label,
                         context_window=self.context_window,
                         max_output_tokens=self.max_output_tokens,
                         capabilities=self.capabilities, price=price or self.default_price,
                         video_seconds=self.video_seconds, video_sizes=self.video_sizes,
                         video_aspect_ratios=self.video_aspect_ratios,
                         video_resolutions=self.video_resolutions,
                         video_options=self.video_options)


def spec_from_data(entry: dict[str, Any]) -> ModelSpec:
    """One entry of the built-in catalog file."""
    fields = dict(entry)
    fields["default_price"] = Price(**fields.pop("price"))
    fields.setdefault("context_window", None)
    fields.setdefault("max_output_tokens", None)
    if "capabilities" in fields:
        fields["capabilities"] = tuple(fields["capabilities"])
    return ModelSpec(**fields)


def load_builtin_models(path: Path = BUILTIN_MODELS_FILE) -> tuple[ModelSpec, ...]:
    return tuple(spec_from_data(entry) for entry in json.loads(path.read_text()))


BUILTIN_MODELS: tuple[ModelSpec, ...] = load_builtin_models()
_BUILTIN_BY_ID = {spec.id: spec for spec in BUILTIN_MODELS}


def _extra_spec(channel: ChannelConfig, model_id: str) -> ModelSpec | None:
    for extra in channel.extra_models:
        if extra.id == model_id:
            return ModelSpec(
                id=extra.id, provider=channel.provider, kind="chat", label=extra.label or extra.id,
                context_window=extra.context_window, max_output_tokens=extra.max_output_tokens,
                capabilities=extra.capabilities,
                default_price=Price(input_per_mtok_credits=extra.input_per_mtok_credits,
                                    output_per_mtok_credits=extra.output_per_mtok_credits),
                max_tokens_param="max_tokens",
                tokenizer="claude_estimate" if channel.provider == "anthropic" else "o200k_base")
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


def builtin_spec(model_id: str) -> ModelSpec | None:
    """A built-in model's specification, offered or not (for operators' price tools)."""
    return _BUILTIN_BY_ID.get(model_id)

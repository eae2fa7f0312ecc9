"""The hub's provider-neutral types: models, prices, quotes, video status (chat requests and
their events are `app.chat`'s)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ModelKind = Literal["chat", "video", "embedding"]
VideoState = Literal["queued", "in_progress", "completed", "failed"]


@dataclass(frozen=True)
class Price:
    """A model's price. Credits are integers; 100,000 credits = US$1.

    Prompt caching: `cached_input_per_mtok_credits` prices prompt tokens read from the
    provider's cache, `cache_write_per_mtok_credits` prompt tokens written to it; None means
    the input rate (no discount, no premium)."""

    input_per_mtok_credits: int = 0
    output_per_mtok_credits: int = 0
    per_second_credits: int = 0
    price_id: int | None = None  # the price-history row; None for a catalog default
    cached_input_per_mtok_credits: int | None = None
    cache_write_per_mtok_credits: int | None = None

    @property
    def effective_cached_input_per_mtok_credits(self) -> int:
        """The rate of a cached prompt token (the input rate unless set)."""
        if self.cached_input_per_mtok_credits is None:
            return self.input_per_mtok_credits
        return self.cached_input_per_mtok_credits

    @property
    def effective_cache_write_per_mtok_credits(self) -> int:
        """The rate of a prompt token written to the cache (the input rate unless set)."""
        if self.cache_write_per_mtok_credits is None:
            return self.input_per_mtok_credits
        return self.cache_write_per_mtok_credits

    @property
    def stamp(self) -> str:
        """What `job_open_checked` (migration 010) compares with the model's newest price. The
        cache rates are not in it: a version's id already identifies it, and versions never
        change."""
        return f"{self.price_id}:{self.input_per_mtok_credits}:{self.output_per_mtok_credits}:" \
               f"{self.per_second_credits}"


@dataclass(frozen=True)
class ModelInfo:
    id: str
    provider: str
    kind: ModelKind
    label: str
    context_window: int | None
    max_output_tokens: int | None
    capabilities: tuple[str, ...]
    price: Price
    video_seconds: tuple[int, ...] = ()
    video_sizes: tuple[str, ...] = ()


@dataclass(frozen=True)
class VideoStatus:
    status: VideoState
    progress_percent: int
    error: str | None = None


@dataclass(frozen=True)
class ChatQuote:
    """The worst-case price of a chat request, to size its hold."""

    hold_credits: int
    input_tokens: int
    max_output_tokens: int
    price_id: int
    input_per_mtok_credits: int
    output_per_mtok_credits: int
    model_id: str = ""
    input_tokens_exact: bool = field(default=True)  # False when the count is an estimate
    price_stamp: str = ""  # Price.stamp of the price it was computed at
    prompt_hold_per_mtok_credits: int = 0  # the rate the prompt was held at (pricing.prompt_hold_rate)


@dataclass(frozen=True)
class VideoQuote:
    hold_credits: int
    seconds: int
    price_id: int
    per_second_credits: int
    model_id: str = ""
    price_stamp: str = ""  # Price.stamp of the price it was computed at


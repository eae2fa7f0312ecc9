"""The hub's provider-neutral types: models, prices, quotes, video status (chat requests and
their events are `app.chat`'s)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ModelKind = Literal["chat", "video", "embedding"]
VideoState = Literal["queued", "in_progress", "completed", "failed"]


@dataclass(frozen=True)
class Price:
    """A model's price. Credits are integers; 100,000 credits = US$1."""

    input_per_mtok_credits: int = 0
    output_per_mtok_credits: int = 0
    per_second_credits: int = 0
    price_id: int | None = None  # the price-history row; None for a catalog default

    @property
    def stamp(self) -> str:
        """What `job_open_checked` (migration 010) compares with the model's newest price."""
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


@dataclass(frozen=True)
class VideoQuote:
    hold_credits: int
    seconds: int
    price_id: int
    per_second_credits: int
    model_id: str = ""
    price_stamp: str = ""  # Price.stamp of the price it was computed at


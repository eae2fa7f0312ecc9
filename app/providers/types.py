"""The hub's provider-neutral types: models, prices, quotes, video requests and status (chat
requests and their events are `app.chat`'s)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ModelKind = Literal["chat", "video", "embedding"]
VideoState = Literal["queued", "in_progress", "completed", "failed"]
VIDEO_OPTIONS: tuple[str, ...] = ("negative_prompt", "audio", "first_frame")  # what a model accepts


@dataclass(frozen=True)
class Price:
    """A model's price. Credits are integers; 100,000 credits = US$1.

    Prompt caching: `cached_input_per_mtok_credits` prices prompt tokens read from the
    provider's cache, `cache_write_per_mtok_credits` prompt tokens written to it; None means
    the input rate (no discount, no premium).

    Video: `per_second_audio_credits` prices a second of video made with audio, for models that
    price audio apart; None means `per_second_credits`."""

    input_per_mtok_credits: int = 0
    output_per_mtok_credits: int = 0
    per_second_credits: int = 0
    price_id: int | None = None  # the price-history row; None for a catalog default
    cached_input_per_mtok_credits: int | None = None
    cache_write_per_mtok_credits: int | None = None
    per_second_audio_credits: int | None = None

    def per_second_rate(self, audio: bool | None) -> int:
        """The credits of one second of video, with audio or without."""
        if audio and self.per_second_audio_credits is not None:
            return self.per_second_audio_credits
        return self.per_second_credits

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
    video_aspect_ratios: tuple[str, ...] = ()
    video_resolutions: tuple[str, ...] = ()
    video_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class VideoImage:
    """A first frame (image to video): the image's bytes and type."""

    mime_type: str  # image/png, image/jpeg, image/webp
    data: bytes


@dataclass(frozen=True)
class VideoRequest:
    """What a user asked a video model for, provider-neutral; each adapter maps the fields its
    model takes (the job API refuses choices a model's catalog entry does not list)."""

    model: str
    prompt: str
    seconds: int
    size: str | None = None  # "WxH" (Sora-style); None when the model takes aspect_ratio
    aspect_ratio: str | None = None  # "16:9" | "9:16" (Veo)
    resolution: str | None = None  # "720p" | "1080p" (Veo)
    negative_prompt: str | None = None
    audio: bool | None = None  # generate audio (Veo 3.x); None = the model's default
    first_frame: VideoImage | None = None


@dataclass(frozen=True)
class VideoStatus:
    status: VideoState
    progress_percent: int
    error: str | None = None
    refused: bool = False  # failed because the vendor's safety filter refused it


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
    per_second_credits: int  # the rate held: the audio rate for a video with audio
    model_id: str = ""
    price_stamp: str = ""  # Price.stamp of the price it was computed at
    audio: bool | None = None


"""Pricing: the worst-case price that sizes a hold, and the cost that settles it.

Prices are integer credits per million tokens (input and output) or per second of video,
stored with history (`app.services.prices.history`). A quote names the price version it used; the
settlement passes that id back, so a later price change never rewrites a charge.

Prompt caching: a price may give prompt tokens read from the provider's cache
(`cached_input_per_mtok_credits`) and prompt tokens written to it
(`cache_write_per_mtok_credits`) rates of their own; a rate left unset is the input rate, and
tokens without a rate of their own are billed with the uncached prompt. The reported prompt
count is the whole prompt (OpenAI's `prompt_tokens`: cached and written tokens included).

Rounding: each part is rounded up to the next whole credit on its own — the uncached prompt,
the cached prompt, the cache writes and the output, each `ceil(tokens × rate / 1e6)` — so a
request that used any tokens costs at least one credit and the hub never charges a fraction.
With no caching that is `ceil(input × input_rate / 1e6) + ceil(output × output_rate / 1e6)`.

The hold prices the whole counted prompt at the dearest prompt rate (the input rate or the
cache-write rate, whichever is higher; a cached rate above input too), `max_tokens` (for each
choice) at the output rate, plus one credit for each prompt part with a rate of its own (each
of those may round up by less than a credit), so the settled cost of a reply within `max_tokens`
never exceeds its hold when the input count was exact, however the provider split the prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from app.chat.record import messages_from_record
from app.chat.request import ChatRequest, ImagePart, Message, Tool
from app.providers.catalog import ModelSpec
from app.providers.errors import ContextWindowExceeded, InvalidModelRequest
from app.providers.image_tokens import image_tokens
from app.providers.router import current_router
from app.providers.tokens import count_messages, count_text, count_tools
from app.providers.types import ChatQuote, Price, VideoQuote, VideoRequest
from app.providers.video_choices import check_video_request
from app.services.prices.catalog import model_spec
from app.services.prices.history import current_prices, price_version
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)
MILLION = 1_000_000


def credits_for_tokens(tokens: int, per_mtok_credits: int) -> int:
    """ceil(tokens × price / 1,000,000) in integer arithmetic."""
    if tokens < 0:
        raise ValueError("token counts cannot be negative")
    return -(-tokens * per_mtok_credits // MILLION)


def count_tokens(model_id: str, text: str) -> int:
    """Tokens of `text` for the model: the tokenizer that sizes holds also counts delivered
    output when the provider reported no usage (Claude: the documented estimate)."""
    return count_text(model_spec(model_id).tokenizer, text)


def image_counter(spec: ModelSpec) -> Callable[[ImagePart], int]:
    """Each image's tokens for the model (its vendor's formula, or the model's upper bound)."""
    return lambda part: image_tokens(part, provider=spec.provider, model=spec.id,
                                     upper_bound=spec.image_tokens)


def prompt_tokens(spec: ModelSpec, messages: tuple[Message, ...], max_tokens: int,
                  tools: tuple[Tool, ...] = ()) -> tuple[int, bool]:
    """(prompt tokens, exact?) — Anthropic's count endpoint when reachable, else the tokenizer.
    Tool definitions are part of the prompt."""
    if spec.tokenizer == "claude_estimate" and current_settings().HUB_ANTHROPIC_COUNT_TOKENS:
        exact = current_router().count_input_tokens(
            ChatRequest(model=spec.id, messages=messages, max_tokens=max_tokens, tools=tools))
        if exact is not None:
            return exact, True
    counted = count_messages(spec.tokenizer, messages, image_tokens=image_counter(spec)) \
        + count_tools(spec.tokenizer, tools)
    return counted, spec.tokenizer != "claude_estimate"


def quote_chat(model_id: str, messages: list[dict[str, Any]], max_tokens: int, *,
               reuse_price: bool = False, tools: tuple[Tool, ...] = (),
               choices: int = 1) -> ChatQuote:
    """The hold for a chat request: counted prompt tokens (tool definitions included) plus
    `max_tokens` for each of its `choices` at today's price (`reuse_price`: as this process
    read it lately; see `app.services.recent_reads`). `messages` as a job stores them
    (`app.chat.record`)."""
    spec = model_spec(model_id)
    if spec.kind != "chat":
        raise InvalidModelRequest(f"model: {model_id} is a {spec.kind} model, not a chat model")
    if max_tokens < 1 or (spec.max_output_tokens and max_tokens > spec.max_output_tokens):
        raise InvalidModelRequest(f"max_tokens: must be between 1 and {spec.max_output_tokens} "
                                 f"for {model_id}")
    input_tokens, exact = prompt_tokens(spec, messages_from_record(messages), max_tokens, tools)
    if spec.context_window and input_tokens + max_tokens > spec.context_window:
        raise ContextWindowExceeded(f"the prompt ({input_tokens} tokens) plus max_tokens "
                                 f"({max_tokens}) exceed {model_id}'s context window of "
                                 f"{spec.context_window} tokens")
    price = current_prices([spec], reuse=reuse_price)[spec.id]
    return ChatQuote(hold_credits=chat_hold_at(price, input_tokens, max_tokens * choices),
                     input_tokens=input_tokens, max_output_tokens=max_tokens,
                     price_id=price.price_id,  # type: ignore[arg-type]
                     input_per_mtok_credits=price.input_per_mtok_credits,
                     output_per_mtok_credits=price.output_per_mtok_credits, model_id=model_id,
                     input_tokens_exact=exact, price_stamp=price.stamp,
                     prompt_hold_per_mtok_credits=prompt_hold_rate(price))


def prompt_hold_rate(price: Price) -> int:
    """The rate a hold prices every prompt token at: the dearest a prompt token can cost."""
    return max(price.input_per_mtok_credits, price.effective_cached_input_per_mtok_credits,
               price.effective_cache_write_per_mtok_credits)


def _own_rate_parts(price: Price) -> int:
    """The prompt parts with a rate of their own besides the uncached input (0 to 2)."""
    return (price.cached_input_per_mtok_credits is not None) + \
        (price.cache_write_per_mtok_credits is not None)


def chat_hold_at(price: Price, input_tokens: int, max_tokens: int) -> int:
    """The worst-case charge of `input_tokens` of prompt (split however the provider caches
    them) and `max_tokens` of output at `price`; see the module docstring."""
    return credits_for_tokens(input_tokens, prompt_hold_rate(price)) + \
        (_own_rate_parts(price) if input_tokens else 0) + \
        credits_for_tokens(max_tokens, price.output_per_mtok_credits)


def chat_cost_at(price: Price, input_tokens: int, output_tokens: int, *,
                 cached_input_tokens: int = 0, cache_write_tokens: int = 0) -> int:
    """The charge for usage at `price`. `input_tokens` is the whole prompt; the cached and
    written counts are clamped to it (cached first), the rest is billed as uncached input."""
    if min(input_tokens, output_tokens, cached_input_tokens, cache_write_tokens) < 0:
        raise ValueError("token counts cannot be negative")
    cached = min(cached_input_tokens, input_tokens)
    written = min(cache_write_tokens, input_tokens - cached)
    uncached = input_tokens - cached - written
    if price.cached_input_per_mtok_credits is None:
        uncached, cached = uncached + cached, 0
    if price.cache_write_per_mtok_credits is None:
        uncached, written = uncached + written, 0
    return credits_for_tokens(uncached, price.input_per_mtok_credits) + \
        credits_for_tokens(cached, price.effective_cached_input_per_mtok_credits) + \
        credits_for_tokens(written, price.effective_cache_write_per_mtok_credits) + \
        credits_for_tokens(output_tokens, price.output_per_mtok_credits)


def chat_cost(price_id: int, input_tokens: int, output_tokens: int, *,
              cached_input_tokens: int = 0, cache_write_tokens: int = 0) -> int:
    """The charge for provider-reported usage at the price version the hold used.
    `input_tokens`: the whole prompt, cached and cache-written tokens included."""
    return chat_cost_at(price_version(price_id), input_tokens, output_tokens,
                        cached_input_tokens=cached_input_tokens,
                        cache_write_tokens=cache_write_tokens)


def video_quote(model_id: str, seconds: int, size: str | None = None, *,
                audio: bool | None = None, reuse_price: bool = False) -> VideoQuote:
    """The hold for a video: seconds × the current per-second price (its audio rate when the
    video has audio; `audio` None on a model that makes audio: with audio, its default).
    `seconds` and `size` are checked against the model's (UnsupportedVideoChoice, a 400); the
    other choices are `check_video_request`'s."""
    spec = model_spec(model_id)
    if spec.kind != "video":
        raise InvalidModelRequest(f"model: {model_id} is a {spec.kind} model, not a video model")
    checked = check_video_request(spec, VideoRequest(model=model_id, prompt="", seconds=seconds,
                                                     size=size, audio=audio))
    price = current_prices([spec], reuse=reuse_price)[spec.id]
    rate = price.per_second_rate(checked.audio)
    return VideoQuote(hold_credits=seconds * rate, seconds=seconds,
                      price_id=price.price_id,  # type: ignore[arg-type]
                      per_second_credits=rate, model_id=model_id, price_stamp=price.stamp,
                      audio=checked.audio)


def video_cost(price_id: int, seconds: int, *, audio: bool | None = None) -> int:
    """The charge for `seconds` of video at the price version its hold used (with audio: the
    audio rate). A job charges the seconds delivered, never more than it held
    (`app.jobs.runs.video`)."""
    if seconds < 0:
        raise ValueError("seconds cannot be negative")
    return seconds * price_version(price_id).per_second_rate(audio)

"""Pricing: the worst-case price that sizes a hold, and the cost that settles it.

Prices are integer credits per million tokens (input and output) or per second of video,
stored with history (`app.services.prices.history`). A quote names the price version it used; the
settlement passes that id back, so a later price change never rewrites a charge.

Rounding: each direction is rounded up to the next whole credit on its own,
`ceil(input_tokens × input_price / 1e6) + ceil(output_tokens × output_price / 1e6)`, so a
request that used any tokens costs at least one credit and the hub never charges a fraction.
The hold uses the same formula with `max_tokens` as the output, so the settled cost of a
reply within `max_tokens` never exceeds its hold when the input count was exact.
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
from app.providers.types import ChatQuote, VideoQuote
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
    hold = credits_for_tokens(input_tokens, price.input_per_mtok_credits) + \
        credits_for_tokens(max_tokens * choices, price.output_per_mtok_credits)
    return ChatQuote(hold_credits=hold, input_tokens=input_tokens, max_output_tokens=max_tokens,
                     price_id=price.price_id,  # type: ignore[arg-type]
                     input_per_mtok_credits=price.input_per_mtok_credits,
                     output_per_mtok_credits=price.output_per_mtok_credits, model_id=model_id,
                     input_tokens_exact=exact, price_stamp=price.stamp)


def chat_cost(price_id: int, input_tokens: int, output_tokens: int) -> int:
    """The charge for provider-reported usage at the price version the hold used."""
    price = price_version(price_id)
    return credits_for_tokens(input_tokens, price.input_per_mtok_credits) + \
        credits_for_tokens(output_tokens, price.output_per_mtok_credits)


def video_quote(model_id: str, seconds: int, size: str | None = None, *,
                reuse_price: bool = False) -> VideoQuote:
    """The hold for a video: seconds × the current per-second price. `size`, when given, is
    checked against the sizes the model makes."""
    spec = model_spec(model_id)
    if spec.kind != "video":
        raise InvalidModelRequest(f"model: {model_id} is a {spec.kind} model, not a video model")
    if seconds not in spec.video_seconds:
        allowed = ", ".join(str(s) for s in spec.video_seconds)
        raise InvalidModelRequest(f"seconds: {model_id} makes videos of {allowed} seconds")
    if size is not None and size not in spec.video_sizes:
        raise InvalidModelRequest(f"size: {model_id} makes videos of "
                                  f"{', '.join(spec.video_sizes)}")
    price = current_prices([spec], reuse=reuse_price)[spec.id]
    return VideoQuote(hold_credits=seconds * price.per_second_credits, seconds=seconds,
                      price_id=price.price_id,  # type: ignore[arg-type]
                      per_second_credits=price.per_second_credits, model_id=model_id,
                      price_stamp=price.stamp)


def video_cost(price_id: int, seconds: int) -> int:
    if seconds < 0:
        raise ValueError("seconds cannot be negative")
    return seconds * price_version(price_id).per_second_credits

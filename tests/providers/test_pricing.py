"""Hold sizing, settlement prices with history, rounding, and offline token counting."""

from __future__ import annotations

import math

import pytest

from app.chat.record import messages_from_record
from app.models.pricing import ModelPrice
from app.providers.errors import ContextWindowExceeded, InvalidModelRequest, ModelNotFound
from app.providers.tokens import count_messages, count_text, encoding
from app.services.prices.catalog import model_spec
from app.services.prices.history import PriceNotFound, set_price
from app.services.prices.pricing import (
    chat_cost,
    count_tokens,
    credits_for_tokens,
    quote_chat,
    video_cost,
    video_quote,
)
from tests.fake_upstream import Fault

MESSAGES = [{"role": "system", "content": "You are terse."},
            {"role": "user", "content": "How many credits is a dollar?"}]


def test_the_shipped_vocabularies_are_openais() -> None:
    assert encoding("o200k_base").encode("hello world") == [24912, 2375]
    assert encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert count_text("o200k_base", "<|endoftext|>") > 1  # special tokens counted as text


@pytest.mark.parametrize(("tokens", "price", "credits"), [
    (0, 250_000, 0), (1, 250_000, 1), (4, 250_000, 1), (5, 250_000, 2),
    (1_000_000, 250_000, 250_000), (1_000_001, 250_000, 250_001), (3, 1, 1)])
def test_each_direction_rounds_up_to_a_whole_credit(tokens, price, credits) -> None:
    assert credits_for_tokens(tokens, price) == credits


def test_a_chat_hold_is_counted_prompt_plus_max_tokens(make_hub) -> None:
    make_hub()
    quote = quote_chat("gpt-4o", MESSAGES, 1000)
    expected_input = count_messages("o200k_base", messages_from_record(MESSAGES),
                                    image_tokens=1600)
    assert quote.input_tokens == expected_input
    assert quote.input_tokens_exact
    assert (quote.input_per_mtok_credits, quote.output_per_mtok_credits) == (250_000, 1_000_000)
    # + 1: the cached part of the prompt may round up on its own (docs/credits.md)
    assert quote.hold_credits == math.ceil(expected_input * 250_000 / 1e6) + 1 + 1000
    assert quote.prompt_hold_per_mtok_credits == 250_000
    assert quote_chat("gpt-4o", MESSAGES, 1000).price_id == quote.price_id


def test_settlement_uses_the_price_version_of_the_hold(make_hub) -> None:
    make_hub()
    old = quote_chat("gpt-4o", MESSAGES, 100)
    set_price(model_spec("gpt-4o"), input_per_mtok_credits=500_000, reason="price rise",
              actor_id=None, actor_label="test")
    new = quote_chat("gpt-4o", MESSAGES, 100)

    assert new.price_id != old.price_id
    assert (new.input_per_mtok_credits, new.output_per_mtok_credits) == (500_000, 1_000_000)
    assert chat_cost(old.price_id, 1_000, 2_000) == 250 + 2_000
    assert chat_cost(new.price_id, 1_000, 2_000) == 500 + 2_000
    assert [r.version for r in ModelPrice.select().where(ModelPrice.model_id == "gpt-4o")
            .order_by(ModelPrice.version)] == [1, 2]


def test_an_unknown_price_version_is_refused(make_hub) -> None:
    make_hub()
    with pytest.raises(PriceNotFound):
        chat_cost(999_999, 1, 1)


def test_the_request_is_checked_against_the_model(make_hub) -> None:
    make_hub()
    with pytest.raises(InvalidModelRequest, match="max_tokens: must be between 1 and 16384"):
        quote_chat("gpt-4o", MESSAGES, 20_000)
    with pytest.raises(ContextWindowExceeded, match="context window of 8192"):
        quote_chat("local-echo", [{"role": "user", "content": "word " * 8000}], 1000)
    with pytest.raises(InvalidModelRequest, match="model: sora-2 is a video model"):
        quote_chat("sora-2", MESSAGES, 10)
    with pytest.raises(ModelNotFound):
        quote_chat("gpt-9", MESSAGES, 10)


def test_claude_holds_use_anthropics_count_endpoint(make_hub, upstream) -> None:
    make_hub()
    quote = quote_chat("claude-haiku-4-5", MESSAGES, 100)
    sent = upstream.requests_to("/v1/messages/count_tokens")[0].body
    assert quote.input_tokens == upstream.input_tokens(sent["messages"], sent["system"])
    assert quote.input_tokens_exact


def test_claude_holds_fall_back_to_the_estimate_when_counting_fails(make_hub, upstream) -> None:
    make_hub()
    upstream.fail_next("count_tokens", Fault(status=500))
    quote = quote_chat("claude-haiku-4-5", MESSAGES, 100)
    assert not quote.input_tokens_exact
    assert quote.input_tokens == count_messages(
        "claude_estimate", messages_from_record(MESSAGES), image_tokens=1600)


def test_the_claude_estimate_is_one_and_a_half_cl100k_counts_rounded_up(make_hub) -> None:
    make_hub(HUB_ANTHROPIC_COUNT_TOKENS=False)
    text = "Anthropic publishes no tokenizer, so the hub estimates."
    assert count_tokens("claude-haiku-4-5", text) == \
        math.ceil(1.5 * len(encoding("cl100k_base").encode(text)))
    assert count_tokens("gpt-4o", text) == len(encoding("o200k_base").encode(text))


def test_image_parts_count_a_fixed_budget(make_hub) -> None:
    make_hub()
    with_image = [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}]}]
    text_only = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}]}]
    assert quote_chat("gpt-4o-mini", with_image, 10).input_tokens == \
        quote_chat("gpt-4o-mini", text_only, 10).input_tokens + 25_501


def test_video_holds_and_costs_are_per_second(make_hub) -> None:
    make_hub()
    quote = video_quote("sora-2", 8)
    assert (quote.hold_credits, quote.per_second_credits) == (80_000, 10_000)
    set_price(model_spec("sora-2"), per_second_credits=12_000, reason="new price",
              actor_id=None, actor_label="test")
    assert video_cost(quote.price_id, 8) == 80_000
    assert video_quote("sora-2", 4).hold_credits == 48_000
    with pytest.raises(InvalidModelRequest, match="seconds: sora-2 makes videos of 4, 8, 12"):
        video_quote("sora-2", 5)
    with pytest.raises(InvalidModelRequest, match="size: sora-2 makes videos of 720x1280"):
        video_quote("sora-2", 4, "1792x1024")
    assert video_quote("sora-2-pro", 4, "1792x1024").hold_credits == 120_000
    with pytest.raises(InvalidModelRequest, match="not a video model"):
        video_quote("gpt-4o", 4)

"""Prompt caching in prices: cached and cache-written prompt tokens billed at their own rates,
each part rounded up on its own, and holds that cover any split of the prompt."""

from __future__ import annotations

import json
import math
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from app.models.audit import AuditLogEntry
from app.providers.types import Price
from app.services.prices.catalog import model_spec
from app.services.prices.history import price_version, set_price
from app.services.prices.pricing import chat_cost, chat_cost_at, chat_hold_at, quote_chat

MESSAGES = [{"role": "user", "content": "How many credits is a dollar?"}]

rates = st.integers(min_value=0, max_value=5_000_000)
optional_rates = st.none() | rates
prices = st.builds(Price, input_per_mtok_credits=rates, output_per_mtok_credits=rates,
                   cached_input_per_mtok_credits=optional_rates,
                   cache_write_per_mtok_credits=optional_rates)
counts = st.integers(min_value=0, max_value=3_000_000)


def _ceil_credits(tokens: int, per_mtok: int) -> int:
    return math.ceil(Fraction(tokens * per_mtok, 1_000_000))


@given(price=prices, uncached=counts, cached=counts, written=counts,
       max_tokens=st.integers(min_value=1, max_value=200_000), data=st.data())
def test_any_split_of_the_prompt_costs_at_most_the_hold(price, uncached, cached, written,
                                                        max_tokens, data) -> None:
    prompt = uncached + cached + written
    output = data.draw(st.integers(min_value=0, max_value=max_tokens))
    cost = chat_cost_at(price, prompt, output, cached_input_tokens=cached,
                        cache_write_tokens=written)
    assert cost <= chat_hold_at(price, prompt, max_tokens)


@given(price=prices, prompt=counts, cached=counts, written=counts,
       max_tokens=st.integers(min_value=1, max_value=200_000))
def test_cache_counts_beyond_the_prompt_are_clamped_to_it(price, prompt, cached, written,
                                                         max_tokens) -> None:
    cost = chat_cost_at(price, prompt, max_tokens, cached_input_tokens=cached,
                        cache_write_tokens=written)
    assert cost <= chat_hold_at(price, prompt, max_tokens)


@given(price=prices, prompt=counts, output=counts)
def test_without_caching_the_cost_is_the_two_part_formula(price, prompt, output) -> None:
    assert chat_cost_at(price, prompt, output) == \
        _ceil_credits(prompt, price.input_per_mtok_credits) + \
        _ceil_credits(output, price.output_per_mtok_credits)


@given(price=prices, uncached=counts, cached=counts, written=counts, output=counts,
       more=st.integers(min_value=1, max_value=100_000))
def test_more_tokens_of_any_part_never_cost_less(price, uncached, cached, written, output,
                                                 more) -> None:
    def cost(u: int, c: int, w: int, o: int) -> int:
        return chat_cost_at(price, u + c + w, o, cached_input_tokens=c, cache_write_tokens=w)

    before = cost(uncached, cached, written, output)
    assert cost(uncached + more, cached, written, output) >= before
    assert cost(uncached, cached + more, written, output) >= before
    assert cost(uncached, cached, written + more, output) >= before
    assert cost(uncached, cached, written, output + more) >= before


@given(price=prices, prompt=counts, max_tokens=counts, more=st.integers(1, 100_000))
def test_a_bigger_request_never_holds_less(price, prompt, max_tokens, more) -> None:
    hold = chat_hold_at(price, prompt, max_tokens)
    assert chat_hold_at(price, prompt + more, max_tokens) >= hold
    assert chat_hold_at(price, prompt, max_tokens + more) >= hold


def test_a_price_without_cache_rates_holds_as_before() -> None:
    price = Price(input_per_mtok_credits=1_000, output_per_mtok_credits=2_000)
    assert chat_hold_at(price, 1_500, 100) == 2 + 1


def test_claude_holds_the_prompt_at_the_cache_write_rate_and_bills_each_part(make_hub) -> None:
    make_hub()
    quote = quote_chat("claude-haiku-4-5", MESSAGES, 100)
    assert quote.prompt_hold_per_mtok_credits == 125_000  # 125 % of the 100,000 input rate
    assert quote.hold_credits == _ceil_credits(quote.input_tokens, 125_000) + 2 + 50

    # 1,000-token prompt: 100 uncached, 600 read from the cache, 300 written to it
    assert chat_cost(quote.price_id, 1_000, 100, cached_input_tokens=600,
                     cache_write_tokens=300) == 10 + 6 + 38 + 50
    assert chat_cost(quote.price_id, 1_000, 100) == 100 + 50


def test_openai_bills_cached_input_at_its_discount(make_hub) -> None:
    make_hub()
    price = price_version(quote_chat("gpt-4.1", MESSAGES, 10).price_id)
    assert (price.cached_input_per_mtok_credits, price.cache_write_per_mtok_credits) == \
        (50_000, None)  # a quarter of 200,000; OpenAI charges nothing extra to write
    assert chat_cost(price.price_id, 10_000, 0, cached_input_tokens=8_000,
                     cache_write_tokens=2_000) == 400 + 400 + 0  # writes billed as input


def test_set_price_adds_cache_rates_in_a_new_audited_version(make_hub) -> None:
    make_hub()
    old = quote_chat("gpt-4o", MESSAGES, 10)

    row = set_price(model_spec("gpt-4o"), cached_input_per_mtok_credits=100_000,
                    cache_write_per_mtok_credits=300_000, reason="cache rates", actor_id=None,
                    actor_label="test")

    new = price_version(row.id)
    assert (new.input_per_mtok_credits, new.cached_input_per_mtok_credits,
            new.cache_write_per_mtok_credits) == (250_000, 100_000, 300_000)
    assert price_version(old.price_id).cached_input_per_mtok_credits == 125_000  # unchanged
    assert chat_cost(old.price_id, 1_000, 0, cached_input_tokens=1_000) == 125
    assert chat_cost(new.price_id, 1_000, 0, cached_input_tokens=1_000) == 100
    assert quote_chat("gpt-4o", MESSAGES, 10).prompt_hold_per_mtok_credits == 300_000
    [entry] = AuditLogEntry.select().where(AuditLogEntry.action == "price.set")
    before, after = json.loads(entry.before), json.loads(entry.after)
    assert (before["cached_input_per_mtok_credits"], before["cache_write_per_mtok_credits"]) \
        == (125_000, None)
    assert (after["cached_input_per_mtok_credits"], after["cache_write_per_mtok_credits"]) == \
        (100_000, 300_000)


def test_the_cli_sets_and_lists_cache_rates(make_hub) -> None:
    hub = make_hub()
    runner = hub.app.test_cli_runner()
    result = runner.invoke(args=["prices", "set", "claude-sonnet-4-5", "--cached-input-per-mtok",
                                 "20000", "--cache-write-per-mtok", "400000",
                                 "--reason", "cache list price"])
    assert result.exit_code == 0, result.output
    assert "cached input 20000/1M, cache write 400000/1M" in result.output
    items = {m["id"]: m for m in hub.app.test_client().get("/api/models").get_json()["items"]}
    assert items["claude-sonnet-4-5"]["price"] == {
        "input_per_mtok_credits": 300_000, "output_per_mtok_credits": 1_500_000,
        "cached_input_per_mtok_credits": 20_000, "cache_write_per_mtok_credits": 400_000}
    history = runner.invoke(args=["prices", "history", "claude-sonnet-4-5"]).output
    assert "cached_input=30000 cache_write=375000" in history
    assert "cached_input=20000 cache_write=400000" in history
    listing = runner.invoke(args=["prices", "list"]).output
    assert "=input" in listing  # local-echo has no cache rates of its own

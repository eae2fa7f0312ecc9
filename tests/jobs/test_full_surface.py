"""What today's clients send, through the official SDKs against the hub, with the fake upstream
behind it: tool calls (streamed and not, both formats, across vendors), images, reasoning,
prompt caching, several choices and parameters passed through — each proved by what the
client receives, what reached the upstream, and what the ledger charged.

Every test runs on both executors (`web`: the serving thread runs the job; `queue`: a worker
process does and the web thread relays its event stream)."""

from __future__ import annotations

import base64
import json

import anthropic
import openai
import pytest

from app.chat.events import billable_text, piece_of
from app.models.jobs import Job
from app.services.prices import pricing
from app.services.runtime import current_events
from tests.fake_upstream import Fault
from tests.jobs.conftest import balance, job_settings, token_of, wait_until_finished

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                   "required": ["query"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {}}}}
CLAUDE_WEATHER = {"name": "get_weather", "description": "The weather in a city",
                  "input_schema": WEATHER["function"]["parameters"]}
# A 1×1 PNG, inline.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


@pytest.fixture(params=["web", "queue"])
def settings(request, migrated_database, fake_upstream_server):
    return job_settings(HUB_COMPAT_EXECUTOR=request.param)


@pytest.fixture
def openai_client(hub, user_headers) -> openai.OpenAI:
    return openai.OpenAI(api_key=token_of(user_headers), base_url=f"{hub}/v1", max_retries=0)


@pytest.fixture
def anthropic_client(hub, user_headers) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=token_of(user_headers), base_url=hub, max_retries=0)


def _last_job(app) -> Job:
    with app.app_context():
        return Job.select().order_by(Job.created_at.desc()).get()


def _charged_as_reported(app, funded_user, before: int, cost: int) -> Job:
    """The job the request made settled at `cost`, and the balance dropped by exactly it."""
    job = wait_until_finished(app, _last_job(app).id)
    assert job.cost_credits == cost > 0
    assert balance(app, funded_user).balance == before - cost
    assert balance(app, funded_user).held == 0
    return job


def _streamed_cost(events: list) -> int:
    """The charge as a streamed Anthropic reply tells it (its `message_delta`'s usage)."""
    return [e for e in events if e.type == "message_delta"][-1].usage.model_extra["cost_credits"]


def _upstream_body(upstream, path: str) -> dict:
    return upstream.requests_to(path)[-1].body


# --- tool calling ------------------------------------------------------------------------------

def test_openai_sdk_streams_a_tool_call_as_openais_deltas(app, openai_client, upstream,
                                                          funded_user) -> None:
    before = balance(app, funded_user).balance
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER], tool_choice="auto", stream=True, max_tokens=100,
        stream_options={"include_usage": True})
    chunks = list(stream)
    pieces = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or ()]
    assert pieces[0].id and pieces[0].function.name == "get_weather"
    assert len(pieces) >= 2  # the call named first, then its arguments (coalesced in batches)
    arguments = "".join(p.function.arguments or "" for p in pieces)
    assert json.loads(arguments) == {"query": "Weather in Paris?"}
    finish = [c.choices[0].finish_reason for c in chunks if c.choices
              and c.choices[0].finish_reason]
    assert finish == ["tool_calls"]
    sent = _upstream_body(upstream, "/v1/chat/completions")
    assert sent["tools"] == [WEATHER] and sent["tool_choice"] == "auto"
    _charged_as_reported(app, funded_user, before, chunks[-1].usage.model_extra["cost_credits"])


def test_openai_sdk_parallel_tool_calls_and_the_tool_results_turn(app, openai_client,
                                                                  upstream) -> None:
    first = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather and time"}],
        tools=[WEATHER, TIME], max_tokens=100)
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert [c.function.name for c in message.tool_calls] == ["get_weather", "get_time"]
    assert message.content is None
    results = [{"role": "tool", "tool_call_id": call.id, "content": f"result of {call.id}"}
               for call in message.tool_calls]
    second = openai_client.chat.completions.create(
        model="gpt-4o-mini", tools=[WEATHER, TIME], max_tokens=100,
        messages=[{"role": "user", "content": "Weather and time"},
                  message.model_dump(exclude_none=True), *results])
    assert second.choices[0].finish_reason == "stop" and second.choices[0].message.content
    sent = _upstream_body(upstream, "/v1/chat/completions")["messages"]
    assert sent[1]["tool_calls"] == [c.model_dump() for c in message.tool_calls]
    assert sent[2:] == results


def test_anthropic_sdk_streams_tool_use_as_input_json_deltas(app, anthropic_client, upstream,
                                                             funded_user) -> None:
    before = balance(app, funded_user).balance
    with anthropic_client.messages.stream(
            model="claude-haiku-4-5", max_tokens=200, tools=[CLAUDE_WEATHER],
            messages=[{"role": "user", "content": "Weather in Oslo?"}]) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [event.type for event in events]
    assert "input_json" in kinds
    tool_use = [block for block in final.content if block.type == "tool_use"]
    assert tool_use[0].name == "get_weather" and tool_use[0].input == {"query": "Weather in Oslo?"}
    assert final.stop_reason == "tool_use"
    assert _upstream_body(upstream, "/v1/messages")["tools"] == [CLAUDE_WEATHER]
    _charged_as_reported(app, funded_user, before, _streamed_cost(events))


def test_anthropic_sdk_tool_result_turn_reaches_claude(anthropic_client, upstream) -> None:
    reply = anthropic_client.messages.create(
        model="claude-haiku-4-5", max_tokens=200, tools=[CLAUDE_WEATHER], messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
                                               "name": "get_weather",
                                               "input": {"query": "Oslo"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                          "content": "12 C, rain"}]}])
    assert reply.stop_reason == "end_turn" and reply.content[0].type == "text"
    sent = _upstream_body(upstream, "/v1/messages")["messages"]
    assert sent[1]["content"] == [{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                   "input": {"query": "Oslo"}}]
    assert sent[2]["content"] == [{"type": "tool_result", "tool_use_id": "toolu_1",
                                   "content": [{"type": "text", "text": "12 C, rain"}]}]


def test_an_openai_shaped_tool_request_to_claude_is_translated_both_ways(openai_client,
                                                                        upstream) -> None:
    completion = openai_client.chat.completions.create(
        model="claude-haiku-4-5", max_tokens=200, tools=[WEATHER], tool_choice="required",
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "Weather in Rome?"}])
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"query": "Weather in Rome?"}
    assert completion.choices[0].finish_reason == "tool_calls"
    sent = _upstream_body(upstream, "/v1/messages")
    assert sent["system"] == "Be brief."
    assert sent["tools"] == [CLAUDE_WEATHER] and sent["tool_choice"] == {"type": "any"}


def test_an_anthropic_shaped_tool_request_to_gpt_is_translated_both_ways(anthropic_client,
                                                                        upstream) -> None:
    with anthropic_client.messages.stream(
            model="gpt-4o-mini", max_tokens=200, tools=[CLAUDE_WEATHER],
            tool_choice={"type": "tool", "name": "get_weather"},
            messages=[{"role": "user", "content": "Weather in Lima?"}]) as stream:
        final = stream.get_final_message()
    tool_use = [block for block in final.content if block.type == "tool_use"][0]
    assert tool_use.input == {"query": "Weather in Lima?"} and final.stop_reason == "tool_use"
    sent = _upstream_body(upstream, "/v1/chat/completions")
    assert sent["tools"] == [WEATHER]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


# --- images --------------------------------------------------------------------------------

def test_images_reach_each_vendor_in_its_own_shape(openai_client, upstream) -> None:
    parts = [{"type": "text", "text": "What is this?"},
             {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}",
                                                 "detail": "low"}},
             {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]
    openai_client.chat.completions.create(model="gpt-4o-mini", max_tokens=50,
                                          messages=[{"role": "user", "content": parts}])
    assert _upstream_body(upstream, "/v1/chat/completions")["messages"][0]["content"] == parts
    openai_client.chat.completions.create(model="claude-haiku-4-5", max_tokens=50,
                                          messages=[{"role": "user", "content": parts}])
    assert _upstream_body(upstream, "/v1/messages")["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}]


# --- reasoning -----------------------------------------------------------------------------

def test_claude_thinking_is_relayed_with_its_signature(app, anthropic_client, upstream,
                                                       funded_user) -> None:
    before = balance(app, funded_user).balance
    with anthropic_client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=2000,
            thinking={"type": "enabled", "budget_tokens": 1024},
            messages=[{"role": "user", "content": "Think first"}]) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = {event.type for event in events}
    assert {"thinking", "signature"} <= kinds
    thinking = final.content[0]
    assert thinking.type == "thinking" and thinking.thinking and \
        thinking.signature.startswith("sig-")
    assert final.content[1].type == "text"
    assert _upstream_body(upstream, "/v1/messages")["thinking"] == {
        "type": "enabled", "budget_tokens": 1024}
    _charged_as_reported(app, funded_user, before, _streamed_cost(events))


def test_openai_reasoning_tokens_are_billed_as_output(app, openai_client, upstream,
                                                      funded_user) -> None:
    before = balance(app, funded_user).balance
    chunks = list(openai_client.chat.completions.create(
        model="gpt-5-mini", reasoning_effort="low", stream=True, max_tokens=200,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Think"}]))
    reasoning = "".join(c.choices[0].delta.model_extra.get("reasoning_content") or ""
                        for c in chunks if c.choices)
    assert reasoning == "Thinking it over"
    usage = chunks[-1].usage
    assert usage.completion_tokens_details.reasoning_tokens == 3
    assert usage.completion_tokens == upstream.chunk_count + 3
    assert _upstream_body(upstream, "/v1/chat/completions")["reasoning_effort"] == "low"
    job = _charged_as_reported(app, funded_user, before, usage.model_extra["cost_credits"])
    assert job.reasoning_tokens == 3 and job.output_tokens == upstream.chunk_count + 3


def test_a_reasoning_model_is_required_for_reasoning(app, openai_client, funded_user) -> None:
    before = balance(app, funded_user).balance
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.chat.completions.create(
            model="gpt-4o-mini", reasoning_effort="high", max_tokens=50,
            messages=[{"role": "user", "content": "x"}])
    assert "reasoning" in refused.value.message
    assert balance(app, funded_user).balance == before


# --- prompt caching ------------------------------------------------------------------------

def test_openai_cached_tokens_are_billed_at_the_cached_rate(app, openai_client, upstream,
                                                            funded_user) -> None:
    upstream.cached_tokens = 4
    before = balance(app, funded_user).balance
    completion = openai_client.chat.completions.create(
        model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": "a b c d e f"}])
    usage = completion.usage
    assert usage.prompt_tokens_details.cached_tokens == 4
    job = _charged_as_reported(app, funded_user, before, usage.model_extra["cost_credits"])
    with app.app_context():
        assert job.cost_credits == pricing.chat_cost(
            job.price_id, usage.prompt_tokens, usage.completion_tokens, cached_input_tokens=4)
    assert job.cached_input_tokens == 4


def test_anthropic_cache_reads_and_writes_are_reported_and_billed(app, anthropic_client,
                                                                  upstream, funded_user) -> None:
    upstream.cache_read_tokens, upstream.cache_write_tokens = 2000, 300
    before = balance(app, funded_user).balance
    reply = anthropic_client.messages.create(
        model="claude-haiku-4-5", max_tokens=50,
        system=[{"type": "text", "text": "A long shared preamble",
                 "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "hi"}])
    assert reply.usage.cache_read_input_tokens == 2000
    assert reply.usage.cache_creation_input_tokens == 300
    assert _upstream_body(upstream, "/v1/messages")["system"][0]["cache_control"] == {
        "type": "ephemeral"}
    job = _charged_as_reported(app, funded_user, before, reply.usage.model_extra["cost_credits"])
    whole_prompt = reply.usage.input_tokens + 2300
    with app.app_context():
        assert job.cost_credits == pricing.chat_cost(
            job.price_id, whole_prompt, reply.usage.output_tokens, cached_input_tokens=2000,
            cache_write_tokens=300)
        assert job.cost_credits != pricing.chat_cost(job.price_id, whole_prompt,
                                                     reply.usage.output_tokens)
    upstream.cache_read_tokens = upstream.cache_write_tokens = 0


# --- choices and parameters ----------------------------------------------------------------

def test_n_choices_are_each_returned_and_billed(app, openai_client, upstream,
                                                funded_user) -> None:
    before = balance(app, funded_user).balance
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini", n=3, max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert len({c.message.content for c in completion.choices}) == 1
    assert completion.usage.completion_tokens == 3 * upstream.chunk_count
    _charged_as_reported(app, funded_user, before, completion.usage.model_extra["cost_credits"])
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", n=2, max_tokens=50, stream=True,
        messages=[{"role": "user", "content": "hi"}])
    texts = {0: "", 1: ""}
    for chunk in stream:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
    assert texts[0] == texts[1] == completion.choices[0].message.content


def test_parameters_the_hub_does_not_read_pass_through_untouched(openai_client,
                                                                 upstream) -> None:
    openai_client.chat.completions.create(
        model="gpt-4o-mini", max_tokens=50, messages=[{"role": "user", "content": "hi"}],
        seed=7, logit_bias={"50256": -100}, user="u-1", frequency_penalty=0.5,
        response_format={"type": "json_object"}, extra_body={"x_vendor_flag": {"a": 1}})
    sent = _upstream_body(upstream, "/v1/chat/completions")
    assert sent["seed"] == 7 and sent["logit_bias"] == {"50256": -100} and sent["user"] == "u-1"
    assert sent["frequency_penalty"] == 0.5 and sent["x_vendor_flag"] == {"a": 1}
    assert sent["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize(("params", "named"), [
    ({"service_tier": "priority"}, "service_tier"),
    ({"extra_body": {"web_search_options": {}}}, "web_search_options"),
    ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0].type"),
])
def test_parameters_the_hub_cannot_meter_are_refused(app, openai_client, upstream, funded_user,
                                                     params, named) -> None:
    before = balance(app, funded_user).balance
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.chat.completions.create(
            model="gpt-4o-mini", max_tokens=50, messages=[{"role": "user", "content": "hi"}],
            **params)
    assert named in refused.value.message
    assert balance(app, funded_user).balance == before
    assert upstream.requests_to("/v1/chat/completions") == []


def test_a_model_without_tools_refuses_them_before_any_hold(app, openai_client, funded_user,
                                                            upstream) -> None:
    before = balance(app, funded_user).balance
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.chat.completions.create(
            model="local-echo", max_tokens=50, tools=[WEATHER],
            messages=[{"role": "user", "content": "hi"}])
    assert refused.value.body["code"] == "unsupported_capability"
    assert "tools" in refused.value.message
    assert balance(app, funded_user).balance == before


# --- billing of cut and cancelled output ---------------------------------------------------

def _delivered_output(app, job: Job) -> str:
    with app.app_context():
        return "".join(billable_text(piece_of(e.data))
                       for e in current_events().read(job.id, count=10_000) if e.type == "delta")


def test_a_tool_call_cut_mid_arguments_charges_the_arguments_delivered(
        app, openai_client, upstream, funded_user) -> None:
    before = balance(app, funded_user).balance
    upstream.fail_next("chat", Fault(kind="cut", after_chunks=3))
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in a long city"}],
        tools=[WEATHER], stream=True, max_tokens=100)
    pieces = []
    with pytest.raises(openai.APIError):  # the stream's error chunk, after the pieces
        for chunk in stream:
            pieces += [call.function.arguments or "" for choice in chunk.choices
                       for call in choice.delta.tool_calls or ()]
    received = "".join(pieces)
    job = wait_until_finished(app, _last_job(app).id)
    delivered = _delivered_output(app, job)
    assert job.status == "failed" and received and received in delivered
    assert delivered.startswith("get_weather")  # the call's name counts as output too
    with app.app_context():
        output = pricing.count_tokens(job.model, delivered)
        assert job.output_tokens == output > 0
        assert job.cost_credits == pricing.chat_cost(job.price_id, job.prompt_tokens_estimate,
                                                     output)
    assert balance(app, funded_user).balance == before - job.cost_credits
    assert balance(app, funded_user).held == 0


def test_cancelled_reasoning_charges_the_reasoning_delivered(app, anthropic_client, upstream,
                                                             funded_user) -> None:
    upstream.chunk_count, upstream.chunk_delay_s = 200, 0.02
    before = balance(app, funded_user).balance
    with anthropic_client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=4000,
            thinking={"type": "enabled", "budget_tokens": 2000},
            messages=[{"role": "user", "content": "Think long"}]) as stream:
        for event in stream:
            if event.type == "thinking":
                break  # the client goes away while the model is reasoning
    job = wait_until_finished(app, _last_job(app).id)
    delivered = _delivered_output(app, job)
    assert job.status == "canceled" and delivered.startswith("Thinking")
    with app.app_context():
        assert job.output_tokens == pricing.count_tokens(job.model, delivered) > 0
    assert job.cost_credits > 0
    assert balance(app, funded_user).balance == before - job.cost_credits
    assert balance(app, funded_user).held == 0


# --- log probabilities ---------------------------------------------------------------------

def test_log_probabilities_are_relayed_streamed_and_not(openai_client, upstream) -> None:
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini", max_tokens=50, logprobs=True, top_logprobs=2,
        messages=[{"role": "user", "content": "hi"}])
    tokens = [entry.token for entry in completion.choices[0].logprobs.content]
    assert "".join(tokens) == completion.choices[0].message.content
    sent = _upstream_body(upstream, "/v1/chat/completions")
    assert sent["logprobs"] is True and sent["top_logprobs"] == 2
    chunks = list(openai_client.chat.completions.create(
        model="gpt-4o-mini", max_tokens=50, logprobs=True, stream=True,
        messages=[{"role": "user", "content": "hi"}]))
    streamed = [entry.token for c in chunks if c.choices and c.choices[0].logprobs
                for entry in c.choices[0].logprobs.content]
    assert streamed == tokens


def test_log_probabilities_from_a_model_without_them_are_refused(app, openai_client,
                                                                  funded_user) -> None:
    before = balance(app, funded_user).balance
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.chat.completions.create(
            model="claude-haiku-4-5", max_tokens=50, logprobs=True,
            messages=[{"role": "user", "content": "hi"}])
    assert refused.value.body["code"] == "unsupported_capability"
    assert "logprobs" in refused.value.message
    assert balance(app, funded_user).balance == before

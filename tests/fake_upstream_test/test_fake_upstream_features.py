"""The fake upstream's newer wire features, driven with the official `openai` and `anthropic`
SDKs so that the SDKs' own parsing and stream accumulation check every shape it sends."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pydantic
import pytest

from tests.fake_upstream import WORDS, FakeUpstream, Fault

QUESTION = "Weather in Paris?"
TOOLS = [{"type": "function", "function": {
    "name": name, "description": f"The {name} tool",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}
    for name in ("lookup", "search", "fetch")]
CLAUDE_TOOLS = [{"name": t["function"]["name"], "description": t["function"]["description"],
                 "input_schema": t["function"]["parameters"]} for t in TOOLS]
RESPONSES_TOOLS = [{"type": "function", "name": t["function"]["name"],
                    "parameters": t["function"]["parameters"], "strict": False} for t in TOOLS]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def reply(count: int = 5) -> str:
    return "".join((" " if i else "") + WORDS[i % len(WORDS)] for i in range(count))


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def oai(upstream: FakeUpstream) -> openai.OpenAI:
    return openai.OpenAI(api_key=upstream.api_key, base_url=upstream.openai_base_url,
                         max_retries=0)


@pytest.fixture
def claude(upstream: FakeUpstream) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=upstream.api_key, base_url=upstream.anthropic_base_url,
                               max_retries=0)


def ask(oai: openai.OpenAI, **params: object):
    params.setdefault("messages", [{"role": "user", "content": QUESTION}])
    return oai.chat.completions.create(model="gpt-4o-mini", **params)


def chunks_of(oai: openai.OpenAI, **params: object) -> list:
    return list(ask(oai, stream=True, stream_options={"include_usage": True}, **params))


# --- OpenAI chat completions: tools -----------------------------------------------------------
def test_chat_tools_non_streamed_calls_the_first_two_tools_in_parallel(oai) -> None:
    completion = ask(oai, tools=TOOLS)

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert [c.function.name for c in choice.message.tool_calls] == ["lookup", "search"]
    for call in choice.message.tool_calls:
        assert re.fullmatch(r"call_[0-9a-f]{12}", call.id)
        assert json.loads(call.function.arguments) == {"query": QUESTION}
    assert completion.usage.completion_tokens == 6


def test_chat_tools_streamed_accumulate_in_the_sdk_stream_helper(oai) -> None:
    with oai.chat.completions.stream(model="gpt-4o-mini", tools=TOOLS,
                                     messages=[{"role": "user", "content": QUESTION}],
                                     stream_options={"include_usage": True}) as stream:
        final = stream.get_final_completion()

    calls = final.choices[0].message.tool_calls
    assert final.choices[0].finish_reason == "tool_calls"
    assert [(c.index, c.function.name) for c in calls] == [(0, "lookup"), (1, "search")]
    assert [json.loads(c.function.arguments) for c in calls] == [{"query": QUESTION}] * 2
    assert final.usage.completion_tokens == 6


def test_chat_tools_stream_a_header_then_three_argument_pieces_per_call(oai) -> None:
    chunks = chunks_of(oai, tools=TOOLS)

    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant" and deltas[0].content is None
    calls = [d.tool_calls[0] for d in deltas if d.tool_calls]
    assert len(calls) == 8
    for index in (0, 1):
        head, *pieces = [c for c in calls if c.index == index]
        assert head.id.startswith("call_") and head.function.arguments == ""
        assert [p.id for p in pieces] == [None] * 3
        assert json.loads("".join(p.function.arguments for p in pieces)) == {"query": QUESTION}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage.completion_tokens == 6


@pytest.mark.parametrize(("extra", "name"), [
    ({"tool_choice": {"type": "function", "function": {"name": "fetch"}}}, "fetch"),
    ({"parallel_tool_calls": False}, "lookup"),
    ({"tool_choice": "required", "tools": TOOLS[1:2]}, "search"),
])
def test_chat_calls_one_tool_when_named_not_parallel_or_alone(oai, extra, name) -> None:
    completion = ask(oai, **{"tools": TOOLS, **extra})

    assert [c.function.name for c in completion.choices[0].message.tool_calls] == [name]
    assert completion.usage.completion_tokens == 3


def test_chat_answers_with_text_after_a_tool_result_or_tool_choice_none(oai) -> None:
    after_tool = ask(oai, tools=TOOLS, messages=[
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "lookup", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"}])
    declined = chunks_of(oai, tools=TOOLS, tool_choice="none")

    assert after_tool.choices[0].message.content == reply()
    assert after_tool.choices[0].message.tool_calls is None
    assert after_tool.choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in declined if c.choices) == reply()


# --- OpenAI chat completions: reasoning, caching, n, images, logprobs, JSON -------------------
def test_chat_reasoning_comes_before_the_content_and_counts_in_usage(oai) -> None:
    completion = ask(oai, reasoning_effort="low")
    chunks = chunks_of(oai, reasoning_effort="low")

    message = completion.choices[0].message
    assert message.reasoning_content == "Thinking it over"
    assert message.content == reply()
    pieces = [(getattr(c.choices[0].delta, "reasoning_content", None), c.choices[0].delta.content)
              for c in chunks[1:] if c.choices and c.choices[0].finish_reason is None]
    assert pieces[:3] == [("Thinking", None), (" it", None), (" over", None)]
    assert "".join(text for _, text in pieces[3:]) == reply()
    for usage in (completion.usage, chunks[-1].usage):
        assert usage.completion_tokens == 5 + 3
        assert usage.completion_tokens_details.reasoning_tokens == 3


def test_chat_reports_cached_prompt_tokens_only_when_set(oai, upstream) -> None:
    plain = ask(oai)
    upstream.cached_tokens = 2
    some = chunks_of(oai)[-1]
    upstream.cached_tokens = 10_000
    capped = ask(oai)

    assert plain.usage.prompt_tokens_details is None
    assert some.usage.prompt_tokens_details.cached_tokens == 2
    assert capped.usage.prompt_tokens_details.cached_tokens == capped.usage.prompt_tokens == 6


def test_chat_n_choices_each_get_the_reply(oai) -> None:
    completion = ask(oai, n=3)
    with oai.chat.completions.stream(model="gpt-4o-mini", n=3,
                                     messages=[{"role": "user", "content": QUESTION}],
                                     stream_options={"include_usage": True}) as stream:
        final = stream.get_final_completion()

    for result in (completion, final):
        assert [(c.index, c.message.content, c.finish_reason) for c in result.choices] == [
            (i, reply(), "stop") for i in range(3)]
        assert result.usage.completion_tokens == 15


def test_chat_image_parts_count_85_input_tokens_each(oai) -> None:
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    completion = ask(oai, messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"}, image, image]}])

    assert completion.usage.prompt_tokens == 3 + 2 * 85 + 3


def test_chat_logprobs_carry_each_content_chunk(oai) -> None:
    completion = ask(oai, logprobs=True)
    chunks = chunks_of(oai, logprobs=True)

    tokens = [t.token for t in completion.choices[0].logprobs.content]
    assert "".join(tokens) == reply() and len(tokens) == 5
    content = [c.choices[0] for c in chunks if c.choices and c.choices[0].delta.content]
    assert [c.logprobs.content[0].token for c in content] == tokens
    assert all(c.logprobs.content[0].logprob == -0.1 for c in content)
    assert content[0].logprobs.content[0].bytes == list(b"Hello")


def test_chat_json_formats_reply_with_parseable_json(oai) -> None:
    class Answer(pydantic.BaseModel):
        answer: str

    as_object = ask(oai, response_format={"type": "json_object"})
    parsed = oai.chat.completions.parse(model="gpt-4o-mini", response_format=Answer,
                                        messages=[{"role": "user", "content": QUESTION}])
    chunks = chunks_of(oai, response_format={"type": "json_object"})

    assert json.loads(as_object.choices[0].message.content) == {"answer": reply()}
    assert parsed.choices[0].message.parsed == Answer(answer=reply())
    pieces = [c.choices[0].delta.content for c in chunks[1:] if c.choices and
              c.choices[0].delta.content]
    assert len(pieces) == 5 and json.loads("".join(pieces)) == {"answer": reply()}


# --- Anthropic messages -----------------------------------------------------------------------
def claude_ask(claude: anthropic.Anthropic, **params: object):
    params.setdefault("messages", [{"role": "user", "content": QUESTION}])
    return claude.messages.create(model="claude-sonnet-4-5", max_tokens=256, **params)


def claude_stream(claude: anthropic.Anthropic, **params: object):
    params.setdefault("messages", [{"role": "user", "content": QUESTION}])
    with claude.messages.stream(model="claude-sonnet-4-5", max_tokens=256, **params) as stream:
        events = list(stream)
        return events, stream.get_final_message()


def test_claude_tools_reply_with_text_then_tool_use(claude) -> None:
    message = claude_ask(claude, tools=CLAUDE_TOOLS)
    events, streamed = claude_stream(claude, tools=CLAUDE_TOOLS)

    for result in (message, streamed):
        text, call = result.content
        assert (text.type, text.text) == ("text", "Let me check.")
        assert (call.type, call.name, call.input) == ("tool_use", "lookup", {"query": QUESTION})
        assert re.fullmatch(r"toolu_[0-9a-f]{12}", call.id)
        assert result.stop_reason == "tool_use"
        assert result.usage.output_tokens == 4
    json_deltas = [e.delta.partial_json for e in events
                   if e.type == "content_block_delta" and e.delta.type == "input_json_delta"]
    assert len(json_deltas) == 3 and json.loads("".join(json_deltas)) == {"query": QUESTION}


def test_claude_named_tool_choice_and_tool_results(claude) -> None:
    named = claude_ask(claude, tools=CLAUDE_TOOLS, tool_choice={"type": "tool", "name": "fetch"})
    declined = claude_ask(claude, tools=CLAUDE_TOOLS, tool_choice={"type": "none"})
    _, answered = claude_stream(claude, tools=CLAUDE_TOOLS, messages=[
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
                                           "name": "lookup", "input": {"query": QUESTION}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                      "content": "Sunny"}]}])

    assert named.content[1].name == "fetch"
    for result in (declined, answered):
        assert [(b.type, b.text) for b in result.content] == [("text", reply())]
        assert result.stop_reason == "end_turn"


def test_claude_thinking_block_comes_first(claude) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    message = claude_ask(claude, thinking=thinking)
    events, streamed = claude_stream(claude, thinking=thinking)

    for result in (message, streamed):
        first, text = result.content
        assert (first.type, first.thinking) == ("thinking", "Thinking it over")
        assert re.fullmatch(r"sig-[0-9a-f]{12}", first.signature)
        assert text.text == reply()
        assert result.usage.output_tokens == 5 + 3
    starts = [(e.index, e.content_block.type) for e in events if e.type == "content_block_start"]
    assert starts == [(0, "thinking"), (1, "text")]


def test_claude_cache_usage_only_when_set(claude, upstream) -> None:
    plain = claude_ask(claude)
    upstream.cache_read_tokens, upstream.cache_write_tokens = 100, 50
    cached = claude_ask(claude)
    _, streamed = claude_stream(claude)

    assert plain.usage.cache_read_input_tokens is None
    for result in (cached, streamed):
        assert result.usage.cache_read_input_tokens == 100
        assert result.usage.cache_creation_input_tokens == 50
        assert result.usage.input_tokens == plain.usage.input_tokens == 3 + 3


def test_claude_images_and_a_system_block_list_count_input_tokens(claude) -> None:
    system = [{"type": "text", "text": "You are terse", "cache_control": {"type": "ephemeral"}}]
    messages = [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "text", "text": "What is this?"}]}]
    message = claude_ask(claude, system=system, messages=messages)
    counted = claude.messages.count_tokens(model="claude-sonnet-4-5", system=system,
                                           messages=messages)

    assert message.usage.input_tokens == counted.input_tokens == (85 + 3 + 3) + (3 + 3)


# --- embeddings -------------------------------------------------------------------------------
def test_embeddings_are_deterministic_unit_vectors_in_both_encodings(oai, upstream) -> None:
    decoded = oai.embeddings.create(model="text-embedding-3-small", input=["a b c", "d"])
    floats = oai.embeddings.create(model="text-embedding-3-small", input=["a b c", "d"],
                                   encoding_format="float")

    assert upstream.requests_to("/v1/embeddings")[0].body["encoding_format"] == "base64"
    assert [d.index for d in floats.data] == [0, 1]
    assert floats.data[0].embedding != floats.data[1].embedding
    for got, want in zip(decoded.data, floats.data, strict=True):
        assert len(got.embedding) == 8
        assert got.embedding == pytest.approx(want.embedding, abs=1e-6)
        assert math.fsum(v * v for v in want.embedding) == pytest.approx(1.0)
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == 4
    assert floats.model == "text-embedding-3-small"


def test_embeddings_dimensions_and_token_inputs(oai) -> None:
    one = oai.embeddings.create(model="m", input="hello", dimensions=16, encoding_format="float")
    again = oai.embeddings.create(model="m", input="hello", dimensions=16)
    tokens = oai.embeddings.create(model="m", input=[[1, 2, 3], [4]], encoding_format="float")

    assert len(one.data[0].embedding) == 16
    assert again.data[0].embedding == pytest.approx(one.data[0].embedding, abs=1e-6)
    assert len(tokens.data) == 2 and tokens.usage.prompt_tokens == 4


def test_embeddings_need_the_key_and_serve_status_faults(oai, upstream) -> None:
    stranger = openai.OpenAI(api_key="sk-wrong", base_url=upstream.openai_base_url,
                             max_retries=0)
    upstream.fail_next("embeddings", Fault(status=429, retry_after="1"))

    with pytest.raises(openai.AuthenticationError):
        stranger.embeddings.create(model="m", input="x")
    with pytest.raises(openai.RateLimitError):
        oai.embeddings.create(model="m", input="x")
    assert oai.embeddings.create(model="m", input="x").data[0].index == 0


# --- Responses API ----------------------------------------------------------------------------
TEXT_EVENTS = ["response.created", "response.in_progress", "response.output_item.added",
               "response.content_part.added", *["response.output_text.delta"] * 5,
               "response.output_text.done", "response.content_part.done",
               "response.output_item.done", "response.completed"]


def test_responses_non_streamed_text(oai, upstream) -> None:
    upstream.cached_tokens = 2
    response = oai.responses.create(model="gpt-4o-mini", input="Say hello please",
                                    instructions="Be brief")

    assert re.fullmatch(r"resp_[0-9a-f]{12}", response.id)
    assert response.status == "completed" and response.output_text == reply()
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (6 + 5, 5, 16)
    assert usage.input_tokens_details.cached_tokens == 2
    assert usage.output_tokens_details.reasoning_tokens == 0


def test_responses_streamed_text_events_in_order(oai) -> None:
    with oai.responses.stream(model="gpt-4o-mini", input=[
            {"role": "user", "content": [{"type": "input_text", "text": "Say hello"}]}]) as stream:
        events = list(stream)
        final = stream.get_final_response()

    assert [e.type for e in events] == TEXT_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(TEXT_EVENTS)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == reply()
    assert final.output_text == reply() and final.usage.input_tokens == 2 + 3


def test_responses_stream_ends_without_done_marker(upstream) -> None:
    raw = httpx.post(f"{upstream.openai_base_url}/responses",
                     headers={"Authorization": f"Bearer {upstream.api_key}"},
                     json={"model": "gpt-4o-mini", "input": "hi", "stream": True})

    assert raw.headers["content-type"] == "text/event-stream"
    assert "[DONE]" not in raw.text
    assert raw.text.rstrip().splitlines()[-2] == "event: response.completed"


def test_responses_function_tools_stream_arguments(oai) -> None:
    created = oai.responses.create(model="gpt-4o-mini", input=QUESTION, tools=RESPONSES_TOOLS,
                                   tool_choice={"type": "function", "name": "search"})
    with oai.responses.stream(model="gpt-4o-mini", input=QUESTION,
                              tools=RESPONSES_TOOLS) as stream:
        events = list(stream)
        final = stream.get_final_response()

    assert [(o.type, o.name) for o in created.output] == [("function_call", "search")]
    assert json.loads(created.output[0].arguments) == {"query": QUESTION}
    assert [o.name for o in final.output] == ["lookup", "search"]
    assert all(o.call_id.startswith("call_") for o in final.output)
    kinds = [e.type for e in events]
    assert kinds.count("response.function_call_arguments.delta") == 6
    assert kinds.count("response.function_call_arguments.done") == 2
    assert "response.output_text.delta" not in kinds
    assert final.usage.output_tokens == 6


def test_responses_answer_text_after_a_function_call_output(oai) -> None:
    response = oai.responses.create(model="gpt-4o-mini", tools=RESPONSES_TOOLS, input=[
        {"role": "user", "content": QUESTION},
        {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "Sunny"}])

    assert response.output_text == reply()
    assert response.output[0].type == "message"


def test_responses_stream_cut_reaches_the_sdk_as_an_error(oai, upstream) -> None:
    upstream.fail_next("responses", Fault(kind="cut", after_chunks=2))

    with pytest.raises((httpx.RemoteProtocolError, openai.APIError)):
        with oai.responses.stream(model="gpt-4o-mini", input="hi") as stream:
            list(stream)
    assert upstream.requests_to("/v1/responses")[0].body["stream"] is True

"""A job's stored request reads back as the hub's request and is written as it always was."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from app.chat.events import FinishReason
from app.chat.record import (
    messages_from_record,
    messages_to_record,
    options_to_record,
    request_from_record,
)
from app.chat.request import (
    ChatRequest,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)

RECORD = [{"role": "system", "content": "Be brief."},
          {"role": "user", "name": "ada", "content": [
              {"type": "text", "text": "What is this?"},
              {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}]},
          {"role": "assistant", "content": ""}]


def test_messages_round_trip_through_the_record() -> None:
    messages = messages_from_record(RECORD)
    assert messages[1] == Message("user", (TextPart("What is this?"),
                                           ImagePart("https://example.com/x.png")), name="ada")
    assert messages_to_record(messages) == RECORD


def test_a_stored_job_request_reads_back() -> None:
    request = request_from_record("gpt-4o", {"messages": RECORD[:1], "max_tokens": 9,
                                             "temperature": None, "top_p": 0.5,
                                             "stop": ["END"]})
    assert (request.model, request.max_tokens, request.top_p, request.stop) == \
        ("gpt-4o", 9, 0.5, ("END",))
    assert request.system == "Be brief."


def test_every_vendor_word_for_an_ending_maps_to_one_reason() -> None:
    assert {word: FinishReason.of(word).value for word in (
        "stop", "end_turn", "stop_sequence", "length", "max_tokens", "tool_use", "tool_calls",
        "function_call", "content_filter", "refusal", "pause_turn", None)} == {
        "stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "length": "length",
        "max_tokens": "length", "tool_use": "tool_calls", "tool_calls": "tool_calls",
        "function_call": "tool_calls", "content_filter": "content_filter",
        "refusal": "content_filter", "pause_turn": "stop", None: "stop"}


# A rich request as a job stores it and reads it back (through JSON, as the row holds it).
_text = st.text(max_size=12)
_cache = st.none() | st.just({"type": "ephemeral"})
_inner = st.one_of(st.builds(TextPart, _text, cache_control=_cache),
                   st.builds(ImagePart, st.just("https://example.com/a.png"),
                             detail=st.sampled_from([None, "low", "high"]),
                             cache_control=_cache))
_parts = st.one_of(
    _inner,
    st.builds(ToolCallPart, st.text(min_size=1, max_size=8), st.text(min_size=1, max_size=8),
              st.just('{"a":[1,2]}')),
    st.builds(ToolResultPart, st.text(min_size=1, max_size=8),
              st.lists(_inner, max_size=3).map(tuple), is_error=st.booleans(),
              cache_control=_cache),
    st.builds(ReasoningPart, _text, signature=st.none() | _text, redacted=st.none() | _text))
_messages = st.lists(st.builds(Message, st.sampled_from(["system", "user", "assistant", "tool"]),
                               st.lists(_parts, max_size=4).map(tuple),
                               name=st.none() | st.text(min_size=1, max_size=6)),
                     min_size=1, max_size=4).map(tuple)
_tools = st.lists(st.builds(Tool, st.text(min_size=1, max_size=8), description=st.none() | _text,
                            parameters=st.just({"type": "object"}),
                            strict=st.none() | st.booleans(), cache_control=_cache),
                  max_size=2).map(tuple)
_requests = st.builds(
    ChatRequest, model=st.just("gpt-4o"), messages=_messages, max_tokens=st.integers(1, 9999),
    temperature=st.none() | st.floats(0, 2), top_p=st.none() | st.floats(0, 1),
    stop=st.none() | st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=4).map(
        tuple),
    tools=_tools,
    tool_choice=st.none() | st.builds(ToolChoice, st.sampled_from(["auto", "none", "required"]))
    | st.builds(ToolChoice, st.just("tool"), st.text(min_size=1, max_size=8)),
    parallel_tool_calls=st.none() | st.booleans(),
    response_format=st.none() | st.just({"type": "json_object"}),
    reasoning_effort=st.none() | st.sampled_from(["low", "high"]),
    thinking_budget=st.none() | st.integers(1024, 4096), n=st.integers(1, 8),
    extra=st.dictionaries(st.sampled_from(["seed", "user", "top_k", "x_custom"]),
                          st.integers() | _text, max_size=3),
    extra_format=st.none() | st.sampled_from(["openai", "anthropic"]))


@given(_requests)
def test_a_rich_request_round_trips_through_the_job_record(request) -> None:
    record = json.loads(json.dumps({
        "messages": messages_to_record(request.messages), "max_tokens": request.max_tokens,
        "temperature": request.temperature, "top_p": request.top_p,
        "stop": list(request.stop) if request.stop else None, **options_to_record(request)}))
    assert request_from_record(request.model, record) == request


def test_a_plain_requests_options_record_is_empty() -> None:
    assert options_to_record(ChatRequest("gpt-4o", (Message("user", (TextPart("hi"),)),))) == {}

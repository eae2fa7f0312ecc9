"""The messages translator: a request and a reply stream survive the round trip through the
wire format and the hub's own Anthropic adapter."""

from __future__ import annotations

import json

import pytest

from app.chat.events import ChatError, Finish, FinishReason, Reply, TextDelta, Usage
from app.chat.request import ChatRequest, TextPart, text_message
from app.providers.anthropic_chat import read_stream, request_body
from app.wire.anthropic_messages import MessagesWriter, parse_request
from app.wire.base import InvalidRequest
from tests.wire.helpers import frames, payloads

BODY = {"model": "claude-haiku-4-5", "max_tokens": 64, "temperature": 0.5, "top_p": 0.9,
        "stop_sequences": ["END"], "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": "Hello"},
                     {"role": "assistant", "content": [{"type": "text", "text": "Hi."}]},
                     {"role": "user", "content": "And now?"}]}
TRICKY = ['Hel', 'lo "hub"\n', "ünï 日本 🚀", "</script>\\"]


def test_a_body_becomes_the_hubs_request() -> None:
    assert parse_request({**BODY, "stream": True}) == ChatRequest(
        model="claude-haiku-4-5", max_tokens=64, temperature=0.5, top_p=0.9, stop=("END",),
        messages=(text_message("system", "Be brief."), text_message("user", "Hello"),
                  text_message("assistant", "Hi."), text_message("user", "And now?")),
        stream=True, extra_format="anthropic")


def test_a_request_round_trips_through_the_adapters_body() -> None:
    request = parse_request(BODY)
    params = request_body(request)
    body = {**params.pop("extra_body", {}), **params}  # as the adapter streams it
    assert body["system"] == "Be brief."
    assert parse_request(json.loads(json.dumps(body))) == request


@pytest.mark.parametrize(("change", "message"), [
    ({"max_tokens": None}, "max_tokens: required"),
    ({"messages": []}, "messages: a non-empty list is required"),
    ({"messages": [{"role": "system", "content": "x"}]},
     "messages.0.role: must be user or assistant"),
    ({"system": 3}, "system: must be a string or a list of text blocks"),
    ({"temperature": 1.5}, "temperature: must be a number from 0 to 1"),
    ({"stop_sequences": ["a"] * 5}, "stop_sequences: a string or up to 4 strings"),
])
def test_a_faulty_body_is_refused_with_its_first_fault(change, message) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_request({**BODY, **change})
    assert refused.value.message == message


@pytest.mark.parametrize("text", TRICKY)
def test_a_text_frame_is_the_whole_event_serialised(text) -> None:
    """The first text delta opens the text block; the next ones are the delta event alone."""
    data = {"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text}}
    start = {"type": "content_block_start", "index": 0,
             "content_block": {"type": "text", "text": ""}}
    writer = MessagesWriter("job1", "claude-haiku-4-5")
    delta = f"event: content_block_delta\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
    assert writer.text(text) == \
        f"event: content_block_start\ndata: {json.dumps(start, separators=(',', ':'))}\n\n" \
        + delta
    assert writer.text(text) == delta


@pytest.mark.parametrize("reason", list(FinishReason))
def test_a_reply_stream_round_trips_through_the_adapters_reader(reason) -> None:
    writer = MessagesWriter("job1", "claude-haiku-4-5", input_tokens=12)
    sent = frames(writer, [*map(TextDelta, TRICKY), Finish(reason, 12, 5, cost_credits=9)])
    events = list(payloads(sent))
    assert [e["type"] for e in events] == [
        "message_start", "content_block_start", *["content_block_delta"] * len(TRICKY),
        "content_block_stop", "message_delta", "message_stop"]
    assert events[0]["message"]["id"] == "msg_job1"
    assert events[-2]["usage"] == {"output_tokens": 5, "input_tokens": 12, "cost_credits": 9,
                                   "cache_read_input_tokens": 0,
                                   "cache_creation_input_tokens": 0}
    stop_reason = {FinishReason.STOP: "end_turn", FinishReason.LENGTH: "max_tokens",
                   FinishReason.TOOL_CALLS: "tool_use",
                   FinishReason.CONTENT_FILTER: "refusal"}[reason]
    assert list(read_stream(events)) == [*map(TextDelta, TRICKY), Usage(12, 5, stop_reason)]
    assert FinishReason.of(stop_reason) is reason


def test_an_error_is_an_error_event() -> None:
    sent = frames(MessagesWriter("job1", "claude-haiku-4-5"),
                  [TextDelta("Hi"), ChatError("provider_timeout", "too slow")])
    assert sent[-1] == 'event: error\ndata: {"type":"error","error":{"type":"api_error",' \
                       '"message":"too slow"}}\n\n'


def test_a_whole_reply_is_one_message() -> None:
    body = MessagesWriter("job1", "claude-haiku-4-5").body(
        Reply(((TextPart("Hello"),),), Finish(FinishReason.LENGTH, 3, 4, 2)))
    assert body == {"id": "msg_job1", "type": "message", "role": "assistant",
                    "model": "claude-haiku-4-5", "content": [{"type": "text", "text": "Hello"}],
                    "stop_reason": "max_tokens", "stop_sequence": None,
                    "usage": {"input_tokens": 3, "output_tokens": 4, "cost_credits": 2,
                              "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}}

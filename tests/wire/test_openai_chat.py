"""The chat completions translator: a request and a reply stream survive the round trip
through the wire format and the hub's own OpenAI adapter."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from app.chat.events import ChatError, Finish, FinishReason, Reply, TextDelta, Usage
from app.chat.request import ChatRequest, Message, TextPart, text_message
from app.providers.catalog import builtin_spec
from app.providers.openai_chat import read_stream, request_body
from app.wire.base import InvalidRequest
from app.wire.openai_chat import ChatCompletionWriter, parse_request
from tests.wire.helpers import frames, payloads

BODY = {"model": "gpt-4o", "max_tokens": 40, "temperature": 0.5, "top_p": 0.9,
        "stop": ["END", "STOP"],
        "messages": [{"role": "developer", "content": "Be brief."},
                     {"role": "user", "content": [{"type": "text", "text": "Hel"},
                                                  {"type": "text", "text": "lo"}]},
                     {"role": "assistant", "content": "Hi."},
                     {"role": "user", "content": "And now?"}]}
TRICKY = ['Hel', 'lo "hub"\n', "ünï 日本 🚀", "</script>\\", ""]


def test_a_body_becomes_the_hubs_request() -> None:
    request = parse_request({**BODY, "stream": True, "stream_options": {"include_usage": True}})
    assert request == ChatRequest(
        model="gpt-4o", max_tokens=40, temperature=0.5, top_p=0.9, stop=("END", "STOP"),
        messages=(text_message("system", "Be brief."),
                  Message("user", (TextPart("Hel"), TextPart("lo"))),
                  text_message("assistant", "Hi."), text_message("user", "And now?")),
        stream=True, include_usage=True, extra_format="openai")
    assert request.messages[1].text == "Hello"  # the parts are kept as sent
    assert parse_request({**BODY, "stream_options": {"include_usage": True}}).include_usage \
        is False  # only a stream reports usage in a chunk of its own


@pytest.mark.parametrize("param", ["max_completion_tokens", "max_tokens"])
def test_a_request_round_trips_through_the_adapters_body(param) -> None:
    request = parse_request(BODY)
    body = request_body(request, replace(builtin_spec("gpt-4o"), max_tokens_param=param))
    assert body[param] == 40
    assert json.loads(json.dumps(body))["messages"][1] == BODY["messages"][1]
    assert parse_request(body) == request


@pytest.mark.parametrize(("change", "message"), [
    ({"messages": [{"role": "narrator", "content": "x"}]},
     "messages[0].role: must be one of system, developer, user, assistant, tool"),
    ({"messages": [{"role": "tool", "content": "x"}]},
     "messages[0].tool_call_id: required in a tool message"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
     "messages[0].content[0].image_url.url: an http(s) URL or a data:image/ URL is required"),
    ({"n": 9}, "n: must be an integer from 1 to 8"),
    ({"tools": [{"type": "function"}]}, "tools[0].function: required"),
    ({"max_tokens": 0}, "max_tokens: must be a positive integer"),
    ({"temperature": 3}, "temperature: must be a number from 0 to 2"),
    ({"stop": ["a", ""]}, "stop: a string or up to 4 strings"),
])
def test_a_faulty_body_is_refused_with_its_first_fault(change, message) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_request({**BODY, **change})
    assert refused.value.message == message and refused.value.code == "invalid_request_error"


@pytest.mark.parametrize("text", TRICKY)
def test_a_text_frame_is_the_whole_chunk_serialised(text) -> None:
    writer = ChatCompletionWriter("job1", 'gpt-"4o"', created=1700000000)
    expected = {"id": "chatcmpl-job1", "object": "chat.completion.chunk", "created": 1700000000,
                "model": 'gpt-"4o"',
                "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    assert writer.text(text) == f"data: {json.dumps(expected, separators=(',', ':'))}\n\n"


@pytest.mark.parametrize("reason", list(FinishReason))
def test_a_reply_stream_round_trips_through_the_adapters_reader(reason) -> None:
    texts = [t for t in TRICKY if t]
    writer = ChatCompletionWriter("job1", "gpt-4o", include_usage=True)
    sent = frames(writer, [*map(TextDelta, texts), Finish(reason, 12, 5, cost_credits=9)])
    assert sent[-1] == "data: [DONE]\n\n"
    chunks = list(payloads(sent))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["usage"] == {"prompt_tokens": 12, "completion_tokens": 5,
                                   "total_tokens": 17, "cost_credits": 9,
                                   "prompt_tokens_details": {"cached_tokens": 0},
                                   "completion_tokens_details": {"reasoning_tokens": 0}}
    word = {FinishReason.STOP: "stop", FinishReason.LENGTH: "length",
            FinishReason.TOOL_CALLS: "tool_calls",
            FinishReason.CONTENT_FILTER: "content_filter"}[reason]
    assert list(read_stream(chunks)) == [*map(TextDelta, texts), Usage(12, 5, word)]
    assert FinishReason.of(word) is reason


def test_usage_is_sent_only_when_asked_and_an_error_in_openais_shape() -> None:
    writer = ChatCompletionWriter("job1", "gpt-4o")
    sent = frames(writer, [TextDelta("Hi"), ChatError("provider_timeout", "too slow"),
                           Finish(FinishReason.STOP)])
    chunks = list(payloads(sent))
    assert chunks[2] == {"error": {"message": "too slow", "type": "server_error", "param": None,
                                   "code": "provider_timeout"}}
    assert [c["choices"][0]["finish_reason"] for c in chunks if "choices" in c] == \
        [None, None, "stop"]
    assert not any("usage" in c for c in chunks)


def test_a_whole_reply_is_one_chat_completion() -> None:
    body = ChatCompletionWriter("job1", "gpt-4o", created=5).body(
        Reply(((TextPart("Hello"),),), Finish(FinishReason.LENGTH, 3, 4, 2)))
    assert body == {"id": "chatcmpl-job1", "object": "chat.completion", "created": 5,
                    "model": "gpt-4o",
                    "choices": [{"index": 0, "message": {"role": "assistant",
                                                         "content": "Hello"},
                                 "logprobs": None, "finish_reason": "length"}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7,
                              "prompt_tokens_details": {"cached_tokens": 0},
                              "completion_tokens_details": {"reasoning_tokens": 0},
                              "cost_credits": 2}}


def test_the_message_model_reads_text_across_parts() -> None:
    message = Message("user", (TextPart("a"), TextPart("b")))
    assert message.text == "ab"

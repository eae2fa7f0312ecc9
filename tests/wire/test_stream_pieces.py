"""Streams of tool calls, reasoning and several choices: each vendor's stream read into the
hub's pieces, and the hub's writers' streams read back by the hub's own adapters and by the
official SDKs' stream accumulators."""

from __future__ import annotations

import json
from typing import Any

import pydantic
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from app.chat.events import (
    Finish,
    FinishReason,
    OutputDelta,
    ReasoningDelta,
    Reply,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from app.chat.request import ReasoningPart, TextPart, ToolCallPart
from app.providers import anthropic_chat, openai_chat
from app.wire.anthropic_messages import MessagesWriter
from app.wire.base import ReplyWriter
from app.wire.openai_chat import ChatCompletionWriter
from tests.wire.helpers import payloads


def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def test_openai_stream_of_tool_calls_reasoning_and_two_choices() -> None:
    chunks = [
        chunk(0, {"role": "assistant", "content": ""}), chunk(1, {"role": "assistant",
                                                                  "content": ""}),
        chunk(0, {"reasoning_content": "Let me think."}),
        chunk(0, {"content": "Checking"}), chunk(1, {"content": "Hi"}),
        chunk(0, {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                  "function": {"name": "weather", "arguments": ""}}]}),
        chunk(1, {"content": " there"}),
        chunk(0, {"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
        chunk(0, {"tool_calls": [{"index": 0, "function": {"arguments": 'ty":"Oslo"}'}}]}),
        chunk(0, {"tool_calls": [{"index": 1, "id": "call_2", "type": "function",
                                  "function": {"name": "clock", "arguments": "{}"}}]}),
        chunk(1, {}, "stop"), chunk(0, {}, "tool_calls"),
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
         "choices": [], "usage": {
             "prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160,
             "prompt_tokens_details": {"cached_tokens": 100},
             "completion_tokens_details": {"reasoning_tokens": 12}}}]
    assert list(openai_chat.read_stream(chunks)) == [
        ReasoningDelta("Let me think."), TextDelta("Checking"), TextDelta("Hi", choice=1),
        ToolCallDelta(0, "", id="call_1", name="weather"), TextDelta(" there", choice=1),
        ToolCallDelta(0, '{"ci'), ToolCallDelta(0, 'ty":"Oslo"}'),
        ToolCallDelta(1, "{}", id="call_2", name="clock"),
        Usage(120, 40, "tool_calls", cached_input_tokens=100, reasoning_tokens=12)]


def test_openai_reasoning_beside_content_in_one_delta_is_kept() -> None:
    chunks = [chunk(0, {"reasoning_content": "so.", "content": "Hi"}, "stop")]
    assert list(openai_chat.read_stream(chunks)) == [ReasoningDelta("so."), TextDelta("Hi")]


def event(kind: str, **data: Any) -> dict[str, Any]:
    return {"type": kind, **data}


ANTHROPIC_EVENTS = [
    event("message_start", message={
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 100,
                  "cache_creation_input_tokens": 50, "output_tokens": 1}}),
    event("content_block_start", index=0,
          content_block={"type": "thinking", "thinking": "", "signature": ""}),
    event("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "Hm"}),
    event("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "m."}),
    event("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "s1"}),
    event("content_block_stop", index=0),
    event("content_block_start", index=1,
          content_block={"type": "redacted_thinking", "data": "opaque"}),
    event("content_block_stop", index=1),
    event("content_block_start", index=2, content_block={"type": "text", "text": ""}),
    event("content_block_delta", index=2, delta={"type": "text_delta", "text": "Checking."}),
    event("content_block_stop", index=2),
    event("content_block_start", index=3, content_block={
        "type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}),
    event("content_block_delta", index=3,
          delta={"type": "input_json_delta", "partial_json": '{"city":'}),
    event("content_block_delta", index=3,
          delta={"type": "input_json_delta", "partial_json": '"Oslo"}'}),
    event("content_block_stop", index=3),
    event("content_block_start", index=4, content_block={
        "type": "tool_use", "id": "toolu_2", "name": "clock", "input": {}}),
    event("content_block_stop", index=4),
    event("message_delta", delta={"stop_reason": "tool_use", "stop_sequence": None},
          usage={"output_tokens": 30}),
    event("message_stop")]


def test_anthropic_stream_of_thinking_text_and_tool_use() -> None:
    assert list(anthropic_chat.read_stream(ANTHROPIC_EVENTS)) == [
        ReasoningDelta("Hm"), ReasoningDelta("m."), ReasoningDelta("", signature="s1"),
        ReasoningDelta("", redacted="opaque"), TextDelta("Checking."),
        ToolCallDelta(0, id="toolu_1", name="weather"), ToolCallDelta(0, '{"city":'),
        ToolCallDelta(0, '"Oslo"}'), ToolCallDelta(1, id="toolu_2", name="clock"),
        Usage(160, 30, "tool_use", cached_input_tokens=100, cache_write_tokens=50)]


# What a reply with reasoning, text and two tool calls delivers, in order.
PIECES: list[OutputDelta] = [
    ReasoningDelta("Let me "), ReasoningDelta("think."), ReasoningDelta("", signature="sig-1"),
    TextDelta("Checking"), TextDelta(' "now"\n'),
    ToolCallDelta(0, "", id="call_1", name="weather"), ToolCallDelta(0, '{"city":'),
    ToolCallDelta(0, '"Oslo"}'), ToolCallDelta(1, "", id="call_2", name="clock"),
    ToolCallDelta(1, "{}")]
FINISH = Finish(FinishReason.TOOL_CALLS, input_tokens=160, output_tokens=30, cost_credits=9,
                cached_input_tokens=100, cache_write_tokens=50, reasoning_tokens=7,
                provider_reason="tool_calls")


def drive(writer: ReplyWriter, pieces: list[OutputDelta], finish: Finish) -> list[str]:
    """The frames the compatible endpoints send (as `compat_common.sse_frames` drives a
    writer: the first choice's text through `text()`, any other piece through `piece()`)."""
    sent = list(writer.start())
    for piece in pieces:
        if isinstance(piece, TextDelta) and not piece.choice:
            sent.append(writer.text(piece.text))
        else:
            sent.append(writer.piece(piece))
    return sent + writer.finish(finish) + writer.close()


def test_a_chat_completion_stream_reads_back_through_the_openai_adapter() -> None:
    sent = drive(ChatCompletionWriter("job1", "gpt-4o", include_usage=True), PIECES, FINISH)
    shown = [p for p in PIECES if not (isinstance(p, ReasoningDelta) and not p.text)]
    assert list(openai_chat.read_stream(payloads(sent))) == [*shown, Usage(
        160, 30, "tool_calls", cached_input_tokens=100, cache_write_tokens=50,
        reasoning_tokens=7)]


def test_the_openai_sdk_accumulates_the_chat_completion_stream() -> None:
    sent = drive(ChatCompletionWriter("job1", "gpt-4o", include_usage=True), PIECES, FINISH)
    state = ChatCompletionStreamState()
    for data in payloads(sent):
        state.handle_chunk(ChatCompletionChunk.model_validate(data))
    completion = state.get_final_completion()
    (choice,) = completion.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == 'Checking "now"\n'
    assert [(c.id, c.function.name, c.function.arguments)
            for c in choice.message.tool_calls] == [("call_1", "weather", '{"city":"Oslo"}'),
                                                    ("call_2", "clock", "{}")]
    assert completion.usage.prompt_tokens_details.cached_tokens == 100
    assert completion.usage.completion_tokens_details.reasoning_tokens == 7


def test_two_choices_stream_apart_and_the_sdk_keeps_them_apart() -> None:
    pieces = [TextDelta("A"), TextDelta("B", choice=1), TextDelta("a"),
              ToolCallDelta(0, "{}", id="call_9", name="clock", choice=1)]
    sent = drive(ChatCompletionWriter("job1", "gpt-4o", n=2, include_usage=True), pieces,
                 Finish(FinishReason.STOP, 5, 6))
    assert list(openai_chat.read_stream(payloads(sent)))[:-1] == pieces
    state = ChatCompletionStreamState()
    for data in payloads(sent):
        state.handle_chunk(ChatCompletionChunk.model_validate(data))
    first, second = state.get_final_completion().choices
    assert (first.message.content, second.message.content) == ("Aa", "B")
    assert second.message.tool_calls[0].function.arguments == "{}"


def test_a_messages_stream_reads_back_through_the_anthropic_adapter() -> None:
    sent = drive(MessagesWriter("job1", "claude-sonnet-4-5", input_tokens=160), PIECES, FINISH)
    read = list(anthropic_chat.read_stream(payloads(sent)))
    assert read[:-1] == PIECES
    assert (read[-1].output_tokens, read[-1].finish_reason) == (30, "tool_use")


def test_the_anthropic_adapter_reads_the_final_usage_of_message_delta() -> None:
    """The hub's writer can only estimate the prompt in message_start; the real counts come in
    message_delta (cumulative, as Anthropic documents), which the SDK takes."""
    sent = drive(MessagesWriter("job1", "claude-sonnet-4-5", input_tokens=150), PIECES, FINISH)
    assert list(anthropic_chat.read_stream(payloads(sent)))[-1] == Usage(
        160, 30, "tool_use", cached_input_tokens=100, cache_write_tokens=50)


def test_the_anthropic_sdk_accumulates_the_messages_stream() -> None:
    sent = drive(MessagesWriter("job1", "claude-sonnet-4-5", input_tokens=150), PIECES, FINISH)
    adapter = pydantic.TypeAdapter(RawMessageStreamEvent)
    snapshot, buffers = None, {}
    for data in payloads(sent):
        snapshot = accumulate_event(event=adapter.validate_python(data),
                                    current_snapshot=snapshot, json_bufs=buffers)
    message = Message.model_validate(json.loads(snapshot.model_dump_json()))
    assert [block.type for block in message.content] == ["thinking", "text", "tool_use",
                                                         "tool_use"]
    thinking, text, weather, clock = message.content
    assert (thinking.thinking, thinking.signature) == ("Let me think.", "sig-1")
    assert text.text == 'Checking "now"\n'
    assert (weather.id, weather.name, weather.input) == ("call_1", "weather", {"city": "Oslo"})
    assert (clock.name, clock.input) == ("clock", {})
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens,
            message.usage.cache_creation_input_tokens, message.usage.output_tokens) == \
        (10, 100, 50, 30)


def test_a_redacted_thinking_piece_is_a_block_of_its_own() -> None:
    pieces = [ReasoningDelta("", redacted="opaque"), TextDelta("Hi")]
    sent = drive(MessagesWriter("job1", "claude-sonnet-4-5"), pieces,
                 Finish(FinishReason.STOP, 1, 1))
    assert list(anthropic_chat.read_stream(payloads(sent)))[:-1] == pieces
    adapter = pydantic.TypeAdapter(RawMessageStreamEvent)
    snapshot, buffers = None, {}
    for data in payloads(sent):
        snapshot = accumulate_event(event=adapter.validate_python(data),
                                    current_snapshot=snapshot, json_bufs=buffers)
    assert [block.type for block in snapshot.content] == ["redacted_thinking", "text"]


REPLY = Reply(choices=((ReasoningPart("Let me think.", signature="sig-1"),
                        TextPart("Checking."),
                        ToolCallPart("call_1", "weather", '{"city":"Oslo"}')),), finish=FINISH)


def test_a_whole_reply_is_a_chat_completion_the_sdk_accepts() -> None:
    body = ChatCompletionWriter("job1", "gpt-4o", created=5).body(REPLY)
    completion = ChatCompletion.model_validate(body)
    message = completion.choices[0].message
    assert (message.content, completion.choices[0].finish_reason) == ("Checking.", "tool_calls")
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("call_1", "weather", '{"city":"Oslo"}')]
    assert body["choices"][0]["message"]["reasoning_content"] == "Let me think."
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (160, 30)


def test_a_whole_reply_is_a_message_the_sdk_accepts() -> None:
    message = Message.model_validate(MessagesWriter("job1", "claude-sonnet-4-5").body(REPLY))
    thinking, text, call = message.content
    assert (thinking.thinking, thinking.signature) == ("Let me think.", "sig-1")
    assert text.text == "Checking."
    assert (call.id, call.name, call.input) == ("call_1", "weather", {"city": "Oslo"})
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens,
            message.usage.cache_creation_input_tokens) == (10, 100, 50)

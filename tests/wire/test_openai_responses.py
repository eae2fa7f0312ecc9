"""The Responses API translator: a body as the hub's request (and on to the OpenAI adapter's
chat completions body), and a reply as events the `openai` SDK's own types accept."""

from __future__ import annotations

import json

import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from app.chat.events import (
    ChatError,
    Finish,
    FinishReason,
    ReasoningDelta,
    Reply,
    TextDelta,
    ToolCallDelta,
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
    text_message,
)
from app.providers.catalog import builtin_spec
from app.providers.openai_chat import request_body
from app.wire.base import InvalidRequest
from app.wire.openai_responses import ResponsesWriter, parse_request, response_echo

EVENTS = TypeAdapter(ResponseStreamEvent)
TOOL = {"type": "function", "name": "lookup", "description": "Look up",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        "strict": True}
TRICKY = ['Hel', 'lo "hub"\n', "ünï 日本 🚀", "</script>\\", ""]


def _events(sent: list[str]) -> list[dict]:
    """Each frame's payload, checked: its `event:` line names its type, the SDK's types
    accept it strictly."""
    out = []
    for frame in "".join(sent).split("\n\n")[:-1]:
        event_line, data_line = frame.split("\n")
        payload = json.loads(data_line.removeprefix("data: "))
        assert event_line == f"event: {payload['type']}"
        EVENTS.validate_python(payload)
        out.append(payload)
    assert [p["sequence_number"] for p in out] == list(range(len(out)))
    return out


def test_a_body_becomes_the_hubs_request() -> None:
    request = parse_request({
        "model": "gpt-4o", "instructions": "Be brief.", "max_output_tokens": 40,
        "temperature": 0.5, "top_p": 0.9, "stream": True, "tools": [TOOL],
        "tool_choice": {"type": "function", "name": "lookup"}, "parallel_tool_calls": False,
        "reasoning": {"effort": "low", "summary": "auto"}, "store": True,
        "include": ["reasoning.encrypted_content"], "truncation": "auto",
        "metadata": {"k": "v"}, "user": "u1", "safety_identifier": "s", "seed": 7,
        "text": {"format": {"type": "json_object"}, "verbosity": "low"},
        "input": [
            {"role": "developer", "content": "Use tools."},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Look"},
                {"type": "input_image", "image_url": "https://x/a.png", "detail": "low"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text",
                                                             "text": "hmm"}]},
            {"role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
            {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "lookup", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "one"},
            {"type": "function_call_output", "call_id": "c2", "output": [
                {"type": "input_text", "text": "two"}]}]})
    assert request == ChatRequest(
        model="gpt-4o", max_tokens=40, temperature=0.5, top_p=0.9, stream=True,
        messages=(text_message("system", "Be brief."), text_message("system", "Use tools."),
                  Message("user", (TextPart("Look"), ImagePart("https://x/a.png", "low"))),
                  Message("assistant", (TextPart("Checking."), ToolCallPart("c1", "lookup", "{}"),
                                        ToolCallPart("c2", "lookup", "{}"))),
                  Message("tool", (ToolResultPart("c1", (TextPart("one"),)),)),
                  Message("tool", (ToolResultPart("c2", (TextPart("two"),)),))),
        tools=(Tool("lookup", "Look up", TOOL["parameters"], strict=True),),
        tool_choice=ToolChoice("tool", "lookup"), parallel_tool_calls=False,
        response_format={"type": "json_object"}, reasoning_effort="low",
        extra={"metadata": {"k": "v"}, "user": "u1", "safety_identifier": "s", "seed": 7,
               "verbosity": "low"}, extra_format="openai")


def test_a_string_input_is_one_user_turn_and_reaches_chat_completions() -> None:
    request = parse_request({"model": "gpt-4o", "input": "hi", "text": {"format": {
        "type": "json_schema", "name": "a", "schema": {"type": "object"}, "strict": True}}})
    assert request.messages == (text_message("user", "hi"),)
    body = request_body(request, builtin_spec("gpt-4o"))
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "a", "schema": {"type": "object"}, "strict": True}}


def test_a_function_call_output_goes_upstream_as_a_tool_message() -> None:
    request = parse_request({"model": "gpt-4o", "tools": [TOOL], "input": [
        {"role": "user", "content": "q"},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"q":1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "r"}]})
    messages = request_body(request, builtin_spec("gpt-4o"))["messages"]
    assert messages[1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "lookup",
                                                       "arguments": '{"q":1}'}}]}
    assert messages[2] == {"role": "tool", "tool_call_id": "c1", "content": "r"}


@pytest.mark.parametrize(("change", "message"), [
    ({"model": ""}, "model: required"),
    ({"input": []}, "input: a string or a non-empty list of items is required"),
    ({"input": [{"type": "reasoning", "summary": []}]},
     "input: at least one message or function call output is required"),
    ({"previous_response_id": "resp_1"},
     "previous_response_id: the hub does not keep responses; send the whole conversation as "
     "input"),
    ({"conversation": "conv_1"}, "conversation: the hub does not keep responses; send the "
                                 "whole conversation as input"),
    ({"background": True}, "background: background responses are stored to be polled, and "
                           "the hub keeps none"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]},
     "input[0].type: item_reference: the hub does not keep responses; send the whole "
     "conversation as input"),
    ({"tools": [TOOL, {"type": "web_search"}, {"type": "code_interpreter"}]},
     "tools: code_interpreter, web_search tools are not supported: hosted tools are billed "
     "per call, which the hub cannot meter; only function tools are"),
    ({"tool_choice": "required"}, "tool_choice: required needs tools"),
    ({"tools": [TOOL], "tool_choice": {"type": "function", "name": "other"}},
     "tool_choice: no tool named 'other' in tools"),
    ({"text": {"format": {"type": "json_schema", "schema": {}}}},
     "text.format: a json_schema format needs a name and a schema"),
    ({"reasoning": {"effort": "huge"}}, "reasoning.effort: must be one of none, minimal, low, "
                                        "medium, high, xhigh"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
     "input[0].content[0].file_id: uploaded files are not supported; send the image as "
     "image_url (an http(s) URL or a data:image/ URL)"),
    ({"input": [{"role": "assistant", "content": [{"type": "input_image",
                                                   "image_url": "https://x"}]}]},
     "input[0].content[0].type: must be output_text or refusal or input_text in an "
     "assistant message"),
    ({"input": [{"type": "function_call_output", "output": "x"}]},
     "input[0].call_id: required"),
    ({"service_tier": "flex"}, "service_tier: not supported: its tiers are priced "
                               "differently from the hub's price list"),
    ({"n": 2}, "n: a response has one output; send one request per reply"),
    ({"max_output_tokens": 0}, "max_output_tokens: must be a positive integer"),
])
def test_a_faulty_body_is_refused_with_its_first_fault(change, message) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_request({"model": "gpt-4o", "input": "hi", **change})
    assert refused.value.message == message and refused.value.code == "invalid_request_error"


def test_harmless_stateful_flags_are_accepted() -> None:
    request = parse_request({"model": "gpt-4o", "input": "hi", "store": True,
                             "background": False, "service_tier": "auto"})
    assert request.extra == {}


@pytest.mark.parametrize("text", TRICKY)
def test_a_text_frame_is_the_whole_event_serialised(text) -> None:
    writer = ResponsesWriter("job1", "gpt-4o", created_at=5)
    opened = writer.start() + [writer.text("x")]
    frame = writer.text(text)
    payload = {"type": "response.output_text.delta", "item_id": "msg_job1_0",
               "output_index": 0, "content_index": 0, "logprobs": [], "delta": text,
               "sequence_number": len(_events(opened))}
    assert frame == ("event: response.output_text.delta\n"
                     f"data: {json.dumps(payload, separators=(',', ':'))}\n\n")


def test_a_stream_opens_and_closes_an_item_for_each_kind_of_piece() -> None:
    writer = ResponsesWriter("j", "gpt-4o", echo=response_echo({"tools": [TOOL]}))
    sent = writer.start() + [writer.piece(ReasoningDelta("think")), writer.text("Hel"),
                             writer.text("lo"), writer.piece(ToolCallDelta(0, id="c1", name="f")),
                             writer.piece(ToolCallDelta(0, '{"a"')),
                             writer.piece(ToolCallDelta(0, ":1}")),
                             writer.piece(TextDelta("other choice", choice=1))]
    sent += writer.finish(Finish(FinishReason.TOOL_CALLS, 3, 4, 5, cached_input_tokens=1,
                                 reasoning_tokens=2)) + writer.close()
    events = _events(sent)
    assert [e["type"] for e in events] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added",
        "response.reasoning_text.delta", "response.reasoning_text.done",
        "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done", "response.completed"]
    final = Response.model_validate(events[-1]["response"])
    assert final.id == "resp_j" and final.status == "completed"
    assert final.output_text == "Hello" and final.tools[0].name == "lookup"
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.output[2].arguments == '{"a":1}' and final.output[2].call_id == "c1"
    assert final.usage.input_tokens_details.cached_tokens == 1
    assert final.usage.output_tokens_details.reasoning_tokens == 2
    assert final.usage.total_tokens == 7 and final.usage.model_extra["cost_credits"] == 5
    assert [e["item"] for e in events if e["type"] == "response.output_item.done"] == \
        events[-1]["response"]["output"]


def test_a_reply_cut_at_max_output_tokens_is_incomplete() -> None:
    writer = ResponsesWriter("j", "gpt-4o")
    events = _events(writer.start() + [writer.text("Hi")]
                     + writer.finish(Finish(FinishReason.LENGTH, 1, 1)))
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert events[-1]["response"]["output"][0]["status"] == "incomplete"


def test_an_error_is_an_error_event_then_a_failed_response() -> None:
    writer = ResponsesWriter("j", "gpt-4o")
    events = _events(writer.start() + [writer.text("Hi"), writer.error(
        ChatError("provider_timeout", "too slow"))] + writer.finish(Finish(FinishReason.STOP)))
    assert events[5] == {"type": "error", "code": "provider_timeout", "message": "too slow",
                         "param": None, "sequence_number": 5}
    failed = events[-1]["response"]
    assert events[-1]["type"] == "response.failed" and failed["status"] == "failed"
    assert failed["error"] == {"code": "server_error", "message": "too slow"}
    assert failed["output"][0]["content"][0]["text"] == "Hi"


def test_an_empty_reply_completes_with_no_output() -> None:
    writer = ResponsesWriter("j", "gpt-4o")
    events = _events(writer.start() + writer.finish(Finish(FinishReason.STOP)))
    assert [e["type"] for e in events][2:] == ["response.completed"]
    assert events[-1]["response"]["output"] == []


def test_a_whole_reply_is_one_response_object() -> None:
    body = ResponsesWriter("j", "gpt-4o", created_at=5).body(Reply(
        ((ReasoningPart("why", signature="sig"), TextPart("Hello"),
          ToolCallPart("c1", "f", "{}"), ReasoningPart("", redacted="x")),),
        Finish(FinishReason.TOOL_CALLS, 3, 4, 2)))
    response = Response.model_validate(body)
    assert response.created_at == 5 and response.status == "completed"
    assert [item.type for item in response.output] == ["reasoning", "message", "function_call"]
    assert response.output_text == "Hello" and response.output[0].content[0].text == "why"
    assert body["usage"]["cost_credits"] == 2 and response.usage.output_tokens == 4

"""OpenAI's chat completions format beyond text: tools, tool turns, images, structured output,
reasoning effort, `n` and passthrough parameters are read into the hub's request, and what an
OpenAI client sent reaches OpenAI unchanged (apart from the name of `max_tokens`)."""

from __future__ import annotations

import json

import pytest

from app.chat.request import ImagePart, TextPart, Tool, ToolCallPart, ToolChoice, ToolResultPart
from app.providers.catalog import builtin_spec
from app.providers.openai_chat import request_body
from app.wire.base import InvalidRequest
from app.wire.openai_chat import parse_request

SPEC = builtin_spec("gpt-4o")
PNG = "data:image/png;base64,iVBORw0KGgo="
WEATHER = {"type": "function", "function": {
    "name": "weather", "description": "The weather in a city.", "strict": True,
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"], "additionalProperties": False}}}
CLOCK = {"type": "function", "function": {"name": "clock", "parameters": {"type": "object"}}}
BODY = {
    "model": "gpt-4o", "max_tokens": 300, "tools": [WEATHER, CLOCK],
    "tool_choice": "auto", "parallel_tool_calls": False,
    "response_format": {"type": "json_object"}, "reasoning_effort": "low",
    "seed": 7, "logit_bias": {"50256": -100}, "user": "u-1", "metadata": {"team": "a"},
    "x_custom": {"deep": [1, 2]},
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "text", "text": "Weather where this is?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg",
                                                "detail": "low"}},
            {"type": "image_url", "image_url": {"url": PNG, "detail": "high"}},
            {"type": "image_url", "image_url": {"url": PNG}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "weather", "arguments": '{"city":"Oslo"}'}},
            {"id": "call_2", "type": "function", "function": {"name": "clock",
                                                              "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "-3C"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "9:00"}]},
        {"role": "assistant", "content": "Cold."},
        {"role": "user", "content": "Thanks"}]}


def test_tools_tool_turns_and_images_become_the_hubs_parts() -> None:
    request = parse_request(BODY)
    assert request.tools[0] == Tool(
        name="weather", description="The weather in a city.", strict=True,
        parameters=WEATHER["function"]["parameters"])
    assert request.tools[1] == Tool(name="clock", parameters={"type": "object"})
    assert (request.tool_choice, request.parallel_tool_calls) == (ToolChoice("auto"), False)
    assert request.messages[1].content == (
        TextPart("Weather where this is?"), ImagePart("https://example.com/a.jpg", "low"),
        ImagePart(PNG, "high"), ImagePart(PNG))
    assert request.messages[2].content == (ToolCallPart("call_1", "weather", '{"city":"Oslo"}'),
                                           ToolCallPart("call_2", "clock", "{}"))
    assert request.messages[3].content == (ToolResultPart("call_1", (TextPart("-3C"),)),)
    assert request.messages[4].content == (ToolResultPart("call_2", (TextPart("9:00"),)),)
    assert (request.response_format, request.reasoning_effort) == ({"type": "json_object"},
                                                                    "low")
    assert request.needs == ("tools", "vision", "structured_output", "reasoning")


def test_unknown_parameters_pass_through_into_extra() -> None:
    request = parse_request({**BODY, "service_tier": "default"})
    assert request.extra == {"seed": 7, "logit_bias": {"50256": -100}, "user": "u-1",
                             "metadata": {"team": "a"}, "x_custom": {"deep": [1, 2]}}
    assert request.extra_format == "openai"


def test_the_upstream_body_is_the_clients_body() -> None:
    """What an OpenAI client sends reaches OpenAI unchanged, apart from `max_tokens`'s name."""
    body = json.loads(json.dumps(request_body(parse_request(BODY), SPEC)))
    expected = {name: value for name, value in BODY.items() if name != "max_tokens"}
    expected["messages"] = [*BODY["messages"][:4],
                            {"role": "tool", "tool_call_id": "call_2", "content": "9:00"},
                            *BODY["messages"][5:]]  # one text part goes as a string
    assert body == {**expected, "max_completion_tokens": 300}
    assert parse_request({**body, "max_tokens": 300}) == parse_request(BODY)


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", ToolChoice("auto")), ("none", ToolChoice("none")),
    ("required", ToolChoice("required")),
    ({"type": "function", "function": {"name": "clock"}}, ToolChoice("tool", "clock")),
])
def test_each_tool_choice_reads_and_goes_back_as_sent(choice, expected) -> None:
    request = parse_request({**BODY, "tool_choice": choice})
    assert request.tool_choice == expected
    assert request_body(request, SPEC)["tool_choice"] == choice


@pytest.mark.parametrize("response_format", [
    {"type": "json_object"}, {"type": "text"},
    {"type": "json_schema", "json_schema": {"name": "w", "strict": True, "schema": {
        "type": "object", "properties": {"t": {"type": "number"}}}}}])
def test_a_response_format_goes_to_openai_as_sent(response_format) -> None:
    request = parse_request({**BODY, "response_format": response_format})
    assert request_body(request, SPEC)["response_format"] == response_format
    assert ("structured_output" in request.needs) is (response_format["type"] != "text")


@pytest.mark.parametrize("n", [1, 2, 8])
def test_n_choices_up_to_eight(n) -> None:
    body = request_body(parse_request({**BODY, "n": n}), SPEC)
    assert body.get("n", 1) == n


@pytest.mark.parametrize("effort", ["none", "minimal", "low", "medium", "high", "xhigh"])
def test_a_reasoning_effort_goes_as_sent(effort) -> None:
    assert request_body(parse_request({**BODY, "reasoning_effort": effort}),
                        SPEC)["reasoning_effort"] == effort


@pytest.mark.parametrize(("change", "message"), [
    ({"tool_choice": {"type": "function", "function": {"name": "search"}}},
     "tool_choice: no tool named 'search' in tools"),
    ({"tool_choice": "required", "tools": None}, "tool_choice: required needs tools"),
    ({"tool_choice": "sometimes"},
     'tool_choice: auto, none, required or {"type": "function", "function": {"name": ...}}'),
    ({"tools": [{"type": "web_search"}]},
     "tools[0].type: only function tools are supported, not 'web_search'"),
    ({"parallel_tool_calls": "yes"}, "parallel_tool_calls: must be true or false"),
    ({"n": 9}, "n: must be an integer from 1 to 8"),
    ({"n": 0}, "n: must be an integer from 1 to 8"),
    ({"reasoning_effort": "max"},
     "reasoning_effort: must be one of none, minimal, low, medium, high, xhigh"),
    ({"response_format": {"type": "json_schema"}},
     "response_format.json_schema: an object with a name and a schema is required"),
    ({"functions": [{"name": "f"}]},
     "functions: the deprecated functions API is not supported; send tools and tool_choice"),
    ({"function_call": "auto"},
     "functions: the deprecated functions API is not supported; send tools and tool_choice"),
    ({"service_tier": "priority"},
     "service_tier: not supported: its tiers are priced differently from the hub's price list"),
    ({"web_search_options": {}},
     "web_search_options: not supported: web search is billed per call, which the hub cannot "
     "meter"),
    ({"audio": {"voice": "alloy", "format": "wav"}},
     "audio: not supported: audio output is billed at audio rates, which the hub does not "
     "price"),
    ({"modalities": ["text", "audio"]},
     "modalities: audio output is not supported: it is billed at audio rates, which the hub "
     "does not price"),
    ({"messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]},
     "messages[0].content[0].type: input_audio parts are not supported (text and images are)"),
    ({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]},
     "messages[0].content[0].image_url.url: an http(s) URL or a data:image/ URL is required"),
    ({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": PNG, "detail": "ultra"}}]}]},
     "messages[0].content[0].image_url.detail: must be auto, low or high"),
    ({"messages": [{"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": {}}}]}]},
     "messages[0].tool_calls[0].function.arguments: must be a JSON string"),
])
def test_a_faulty_body_is_refused_naming_the_fault(change, message) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_request({**BODY, **change})
    assert refused.value.message == message


def test_modalities_of_text_alone_pass_through() -> None:
    assert parse_request({**BODY, "modalities": ["text"]}).extra["modalities"] == ["text"]


def test_an_assistant_turns_name_reaches_openai() -> None:
    message = {"role": "assistant", "name": "helper", "content": "Hi."}
    body = request_body(parse_request({**BODY, "messages": [BODY["messages"][1], message]}),
                        SPEC)
    assert body["messages"][1] == message

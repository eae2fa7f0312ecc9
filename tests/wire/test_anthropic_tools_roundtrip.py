"""Anthropic's messages format beyond text: system blocks with cache breakpoints, images, tool
use and results, thinking, tool choice and passthrough parameters are read into the hub's
request, and what a Claude client sent reaches Anthropic unchanged."""

from __future__ import annotations

import json

import pytest

from app.chat.request import (
    ImagePart,
    ReasoningPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from app.providers.anthropic_chat import request_body
from app.wire.anthropic_messages import parse_request
from app.wire.base import InvalidRequest

CACHE = {"type": "ephemeral"}
WEATHER = {"name": "weather", "description": "The weather in a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
           "cache_control": CACHE}
CLOCK = {"name": "clock", "input_schema": {"type": "object"}}
BODY = {
    "model": "claude-sonnet-4-5", "max_tokens": 4096,
    "system": [{"type": "text", "text": "You are terse."},
               {"type": "text", "text": "Long shared context.", "cache_control": CACHE}],
    "tools": [WEATHER, CLOCK],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "top_k": 5, "metadata": {"user_id": "u-1"},
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "Weather where these are?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"},
             "cache_control": CACHE}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Two places.", "signature": "sig-1"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather",
             "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "toolu_2", "name": "clock", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": True,
             "cache_control": CACHE,
             "content": [{"type": "text", "text": "clock broken"},
                         {"type": "image", "source": {"type": "url",
                                                      "url": "https://example.com/c.png"}}]},
            {"type": "text", "text": "Well?"}]}]}


def test_blocks_become_the_hubs_parts() -> None:
    request = parse_request(BODY)
    system, user, assistant, results = request.messages
    assert system.role == "system" and system.content == (
        TextPart("You are terse."), TextPart("Long shared context.", cache_control=CACHE))
    assert user.content == (TextPart("Weather where these are?"),
                            ImagePart("data:image/png;base64,iVBORw0KGgo="),
                            ImagePart("https://example.com/a.jpg", cache_control=CACHE))
    assert assistant.content == (
        ReasoningPart("Two places.", signature="sig-1"), ReasoningPart("", redacted="opaque"),
        TextPart("Checking."), ToolCallPart("toolu_1", "weather", '{"city":"Oslo"}'),
        ToolCallPart("toolu_2", "clock", "{}"))
    assert results.content == (
        ToolResultPart("toolu_1", (TextPart("-3C"),)),
        ToolResultPart("toolu_2", (TextPart("clock broken"),
                                   ImagePart("https://example.com/c.png")),
                       is_error=True, cache_control=CACHE),
        TextPart("Well?"))
    assert request.tools == (Tool("weather", "The weather in a city.",
                                  WEATHER["input_schema"], cache_control=CACHE),
                             Tool("clock", parameters={"type": "object"}))
    assert (request.tool_choice, request.parallel_tool_calls) == (ToolChoice("auto"), False)
    assert request.thinking_budget == 2048
    assert request.extra == {"top_k": 5, "metadata": {"user_id": "u-1"}}
    assert request.extra_format == "anthropic"
    assert request.needs == ("tools", "vision", "reasoning")


def as_streamed(request) -> dict:
    params = request_body(request)
    return json.loads(json.dumps({**params.pop("extra_body", {}), **params}))


def test_the_upstream_body_is_the_clients_body() -> None:
    body = as_streamed(parse_request(BODY))
    expected = json.loads(json.dumps(BODY))
    expected["messages"][2]["content"][0]["content"] = [{"type": "text", "text": "-3C"}]
    assert body == expected
    assert parse_request(body) == parse_request(BODY)


@pytest.mark.parametrize(("choice", "expected"), [
    ({"type": "auto"}, ToolChoice("auto")), ({"type": "any"}, ToolChoice("required")),
    ({"type": "tool", "name": "clock"}, ToolChoice("tool", "clock")),
    ({"type": "none"}, ToolChoice("none")),
    ({"type": "any", "disable_parallel_tool_use": True}, ToolChoice("required")),
])
def test_each_tool_choice_reads_and_goes_back_as_sent(choice, expected) -> None:
    request = parse_request({**BODY, "tool_choice": choice, "thinking": None})
    assert request.tool_choice == expected
    assert request.parallel_tool_calls is (False if choice.get("disable_parallel_tool_use")
                                           else None)
    assert as_streamed(request)["tool_choice"] == choice


def test_thinking_disabled_is_no_budget() -> None:
    request = parse_request({**BODY, "thinking": {"type": "disabled"}})
    assert request.thinking_budget is None and "thinking" not in as_streamed(request)


THINKING_RULE = ('thinking: {"type": "enabled", "budget_tokens": N} with N at least 1024 and '
                 'below max_tokens, or {"type": "disabled"}')


@pytest.mark.parametrize(("change", "message"), [
    ({"thinking": {"type": "enabled", "budget_tokens": 1023}}, THINKING_RULE),
    ({"thinking": {"type": "enabled", "budget_tokens": 4096}}, THINKING_RULE),
    ({"thinking": {"type": "enabled"}}, THINKING_RULE),
    ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
     "tools.0.type: Anthropic's built-in tools (web_search_20250305) are not supported: only "
     "custom tools with an input_schema are"),
    ({"tools": [{"name": "x"}]}, "tools.0.input_schema: must be a JSON schema object"),
    ({"mcp_servers": [{"type": "url", "url": "https://mcp.example.com"}]},
     "mcp_servers: not supported: MCP connector tool calls are billed by the vendor in ways "
     "the hub cannot meter"),
    ({"container": "c-1"}, "container: not supported: code execution containers are billed "
                           "per hour, which the hub cannot meter"),
    ({"tool_choice": {"type": "tool", "name": "search"}},
     "tool_choice.name: no tool named 'search' in tools"),
    ({"tool_choice": {"type": "any"}, "tools": None}, "tool_choice: any needs tools"),
    ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type: must be auto, any, tool or none"),
    ({"system": [{"type": "text", "text": "x", "cache_control": {"type": "forever"}}]},
     'system.0.cache_control: must be {"type": "ephemeral"}'),
    ({"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f",
                                                 "input": {}}]}]},
     "messages.0.content.0.type: 'tool_use' blocks are not supported in a user turn"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {
        "type": "base64", "media_type": "image/tiff", "data": "AAAA"}}]}]},
     "messages.0.content.0.source: a media_type of image/jpeg, image/png, image/gif, "
     "image/webp and base64 data are required"),
    ({"messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]},
     "messages.0.content.0.type: document blocks are not supported"),
])
def test_a_faulty_body_is_refused_naming_the_fault(change, message) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_request({**BODY, **change})
    assert refused.value.message == message

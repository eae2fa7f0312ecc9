"""A request in one vendor's format rendered for the other vendor's API: each part goes in
the other vendor's shape, and the first vendor's passthrough parameters stay behind."""

from __future__ import annotations

import json
from dataclasses import replace

from app.providers import anthropic_chat, openai_chat
from app.providers.catalog import builtin_spec
from app.wire import anthropic_messages
from app.wire import openai_chat as openai_wire

GPT = builtin_spec("gpt-4o")
PNG = "iVBORw0KGgo="
OPENAI_BODY = {
    "model": "claude-sonnet-4-5", "max_tokens": 8000, "reasoning_effort": "high",
    "tool_choice": "required", "parallel_tool_calls": False, "seed": 7, "user": "u-1",
    "tools": [{"type": "function", "function": {
        "name": "weather", "description": "The weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "text", "text": "Weather here?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "-3C"}]}


def test_an_openai_request_in_anthropics_shapes() -> None:
    params = anthropic_chat.request_body(openai_wire.parse_request(OPENAI_BODY))
    assert params["system"] == "Be brief."
    assert params["messages"] == [
        {"role": "user", "content": [
            {"type": "text", "text": "Weather here?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": PNG}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1",
                                           "name": "weather", "input": {"city": "Oslo"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1",
                                      "content": [{"type": "text", "text": "-3C"}]}]}]
    assert params["tools"] == [{"name": "weather", "description": "The weather.",
                                "input_schema": OPENAI_BODY["tools"][0]["function"][
                                    "parameters"]}]
    assert params["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    # Anthropic refuses thinking with a forced tool choice: the mapped effort asks none
    assert "thinking" not in params
    auto = anthropic_chat.request_body(openai_wire.parse_request(
        {**OPENAI_BODY, "tool_choice": "auto", "temperature": 0.2}))
    assert auto["thinking"] == {"type": "enabled", "budget_tokens": 7999}  # high, capped
    assert "temperature" not in json.dumps(auto)  # nor with a temperature: it is left out
    assert "extra_body" not in params  # seed and user are OpenAI's: not sent to Claude
    assert "seed" not in json.dumps(params)


def test_an_effort_that_leaves_no_room_for_anthropics_minimum_budget_asks_no_thinking() -> None:
    request = openai_wire.parse_request({**OPENAI_BODY, "max_tokens": 1024,
                                         "tool_choice": "auto"})
    assert "thinking" not in anthropic_chat.request_body(request)
    request = openai_wire.parse_request({**OPENAI_BODY, "reasoning_effort": "low",
                                         "tool_choice": "auto"})
    assert anthropic_chat.request_body(request)["thinking"]["budget_tokens"] == 1024


ANTHROPIC_BODY = {
    "model": "gpt-4o", "max_tokens": 9000, "top_k": 5, "metadata": {"user_id": "u"},
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    "thinking": {"type": "enabled", "budget_tokens": 8000},
    "tools": [{"name": "weather", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "tool", "name": "weather"},
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "Weather here?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": PNG}}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Hmm.", "signature": "sig"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather",
             "input": {"city": "Oslo", "days": [1, 2]}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3C"},
            {"type": "text", "text": "So?"}]}]}


def test_an_anthropic_request_in_openais_shapes() -> None:
    body = openai_chat.request_body(anthropic_messages.parse_request(ANTHROPIC_BODY), GPT)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "text", "text": "Weather here?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {
                "name": "weather", "arguments": '{"city":"Oslo","days":[1,2]}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "-3C"},
        {"role": "user", "content": "So?"}]
    assert json.loads(body["messages"][2]["tool_calls"][0]["function"]["arguments"]) == \
        ANTHROPIC_BODY["messages"][1]["content"][2]["input"]
    assert body["tools"] == [{"type": "function", "function": {
        "name": "weather", "parameters": {"type": "object"}}}]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert body["reasoning_effort"] == "medium"  # a budget of 8000
    assert not {"top_k", "metadata", "thinking"} & set(body)  # Anthropic's stay behind
    assert body["max_completion_tokens"] == 9000


def test_thinking_budgets_map_to_efforts() -> None:
    def effort(budget: int) -> str:
        body = {**ANTHROPIC_BODY, "max_tokens": 64_000,
                "thinking": {"type": "enabled", "budget_tokens": budget}}
        return openai_chat.request_body(anthropic_messages.parse_request(body),
                                        GPT)["reasoning_effort"]
    assert [effort(b) for b in (1024, 4096, 4097, 16_384, 16_385)] == \
        ["low", "low", "medium", "medium", "high"]


def test_reasoning_without_a_signature_is_not_sent_to_anthropic() -> None:
    """Another vendor's reasoning (no signature) cannot go back to Claude; its own can."""
    request = anthropic_messages.parse_request(ANTHROPIC_BODY)
    assistant = request.messages[2]
    unsigned = replace(assistant, content=(replace(assistant.content[0], signature=None),
                                           *assistant.content[1:]))
    request = replace(request, messages=(*request.messages[:2], unsigned, request.messages[3]))
    turns = anthropic_chat.request_body(request)["messages"]
    assert [block["type"] for block in turns[1]["content"]] == ["text", "tool_use"]
    signed = anthropic_chat.request_body(anthropic_messages.parse_request(ANTHROPIC_BODY))
    assert signed["messages"][1]["content"][0] == {"type": "thinking", "thinking": "Hmm.",
                                                   "signature": "sig"}


def _text_blocks(params: dict) -> list[dict]:
    """Every text block of a messages body, tool results' included."""
    blocks = [b for turn in params["messages"] for b in turn["content"]]
    blocks += [inner for b in blocks if b["type"] == "tool_result" for inner in b.get("content", [])]
    return [b for b in blocks if b["type"] == "text"]


def test_no_empty_text_block_goes_to_anthropic() -> None:
    """OpenAI clients (LangChain and others) send `content: ""` beside `tool_calls`, and a
    tool that returned nothing as `content: ""`: Anthropic refuses an empty text block."""
    body = {**OPENAI_BODY, "reasoning_effort": None, "messages": [
        *OPENAI_BODY["messages"][:2],
        {**OPENAI_BODY["messages"][2], "content": ""},
        {"role": "tool", "tool_call_id": "call_1", "content": ""}]}
    params = anthropic_chat.request_body(openai_wire.parse_request(body))
    assert [turn["role"] for turn in params["messages"]] == ["user", "assistant", "user"]
    assert all(block["text"] for block in _text_blocks(params))


def test_a_claude_tool_result_with_an_image_reaches_openai_as_text_then_the_image() -> None:
    """OpenAI's tool messages take text only: the result's image follows as a user turn."""
    body = {"model": "gpt-4o", "max_tokens": 100, "tools": [
        {"name": "shot", "input_schema": {"type": "object"}}], "messages": [
        {"role": "user", "content": "Take a screenshot"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "shot",
                                           "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [
            {"type": "text", "text": "done"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": PNG}}]}]}]}
    sent = openai_chat.request_body(anthropic_messages.parse_request(body), GPT)["messages"]
    assert sent[2] == {"role": "tool", "tool_call_id": "t1", "content": "done"}
    assert sent[3] == {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}


def test_tool_choice_none_without_tools_is_not_sent_to_openai() -> None:
    body = {"model": "gpt-4o", "max_tokens": 100, "tool_choice": {"type": "none"},
            "messages": [{"role": "user", "content": "hi"}]}
    assert "tool_choice" not in openai_chat.request_body(
        anthropic_messages.parse_request(body), GPT)

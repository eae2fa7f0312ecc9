"""The request as a job stores it (`Job.request_json`): OpenAI-style messages, as always, and
the request's other choices beside them.

A message whose content is one plain text part is stored as a string, so every job row reads
as before; other content as a list of `{"type": ...}` parts (`text`, `image_url`, and the
hub's own `tool_call`, `tool_result` and `reasoning`). Reading is lenient (a stored row was
validated when it came in): unknown parts are skipped, as the token counter always did.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.chat.request import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)


def messages_to_record(messages: Iterable[Message]) -> list[dict[str, Any]]:
    return [_message_record(message) for message in messages]


def _message_record(message: Message) -> dict[str, Any]:
    content = message.content
    plain = len(content) == 1 and isinstance(content[0], TextPart) \
        and content[0].cache_control is None
    record: dict[str, Any] = {"role": message.role, "content": content[0].text if plain
                              else [_part_record(part) for part in content]}
    if message.name:
        record["name"] = message.name
    return record


def _part_record(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        record: dict[str, Any] = {"type": "text", "text": part.text}
    elif isinstance(part, ImagePart):
        image = {"url": part.url, **({"detail": part.detail} if part.detail else {})}
        record = {"type": "image_url", "image_url": image}
    elif isinstance(part, ToolCallPart):
        return {"type": "tool_call", "id": part.id, "name": part.name,
                "arguments": part.arguments}
    elif isinstance(part, ToolResultPart):
        record = {"type": "tool_result", "tool_call_id": part.tool_call_id,
                  "content": [_part_record(p) for p in part.content], "is_error": part.is_error}
    else:
        return {"type": "reasoning", "text": part.text, "signature": part.signature,
                "redacted": part.redacted}
    if part.cache_control is not None:
        record["cache_control"] = part.cache_control
    return record


def messages_from_record(records: Iterable[dict[str, Any]]) -> tuple[Message, ...]:
    return tuple(Message(role=str(record.get("role", "")),
                         content=_parts_from_record(record.get("content")),
                         name=record.get("name") or None) for record in records)


def _parts_from_record(content: Any) -> tuple[Any, ...]:
    if isinstance(content, str):
        return (TextPart(content),)
    parts = (_part_from_record(part) for part in content or () if isinstance(part, dict))
    return tuple(part for part in parts if part is not None)


def _part_from_record(part: dict[str, Any]) -> ContentPart | None:
    kind, cache = part.get("type"), part.get("cache_control")
    if kind == "text":
        return TextPart(str(part.get("text", "")), cache_control=cache)
    if kind == "image_url":
        image = part.get("image_url") or {}
        return ImagePart(str(image.get("url", "")), detail=image.get("detail"),
                         cache_control=cache)
    if kind == "image":
        return ImagePart(str((part.get("source") or {}).get("url", "")))
    if kind == "tool_call":
        return ToolCallPart(id=str(part.get("id", "")), name=str(part.get("name", "")),
                            arguments=str(part.get("arguments", "")))
    if kind == "tool_result":
        inner = tuple(p for p in _parts_from_record(part.get("content"))
                      if isinstance(p, TextPart | ImagePart))
        return ToolResultPart(tool_call_id=str(part.get("tool_call_id", "")), content=inner,
                              is_error=bool(part.get("is_error")), cache_control=cache)
    if kind == "reasoning":
        return ReasoningPart(str(part.get("text", "")), signature=part.get("signature"),
                             redacted=part.get("redacted"))
    return None


def options_to_record(request: ChatRequest) -> dict[str, Any]:
    """The request's choices beyond messages and sampling, as a job stores them (only those
    set, so a plain request's row is as before)."""
    record: dict[str, Any] = {}
    if request.tools:
        record["tools"] = [_tool_record(tool) for tool in request.tools]
    if request.tool_choice is not None:
        record["tool_choice"] = {"mode": request.tool_choice.mode,
                                 "name": request.tool_choice.name}
    for name in ("parallel_tool_calls", "response_format", "reasoning_effort",
                 "thinking_budget", "extra_format"):
        if getattr(request, name) is not None:
            record[name] = getattr(request, name)
    if request.n != 1:
        record["n"] = request.n
    if request.extra:
        record["extra"] = request.extra
    return record


def _tool_record(tool: Tool) -> dict[str, Any]:
    record: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
    for name in ("description", "strict", "cache_control"):
        if getattr(tool, name) is not None:
            record[name] = getattr(tool, name)
    return record


def tools_from_record(records: Iterable[dict[str, Any]] | None) -> tuple[Tool, ...]:
    """The stored tool definitions (`options_to_record`'s `tools`)."""
    return tuple(Tool(name=t["name"], description=t.get("description"),
                      parameters=t.get("parameters") or {}, strict=t.get("strict"),
                      cache_control=t.get("cache_control")) for t in records or ())


def request_from_record(model: str, record: dict[str, Any]) -> ChatRequest:
    """The provider's request for a stored job (its model as the job names it)."""
    stop = record.get("stop")
    choice = record.get("tool_choice")
    return ChatRequest(
        model=model, messages=messages_from_record(record["messages"]),
        max_tokens=record["max_tokens"], temperature=record.get("temperature"),
        top_p=record.get("top_p"), stop=tuple(stop) if stop else None,
        tools=tools_from_record(record.get("tools")),
        tool_choice=ToolChoice(mode=choice["mode"], name=choice.get("name")) if choice else None,
        parallel_tool_calls=record.get("parallel_tool_calls"),
        response_format=record.get("response_format"),
        reasoning_effort=record.get("reasoning_effort"),
        thinking_budget=record.get("thinking_budget"), n=record.get("n", 1),
        extra=record.get("extra") or {}, extra_format=record.get("extra_format"))

"""Anthropic's messages format, as the hub's `/v1/messages` speaks it.

In: `parse_request` (the top-level `system`, a string or text blocks, becomes the first,
system, turn; the turns themselves are user or assistant, of text, image, `tool_use`,
`tool_result`, `thinking` and `redacted_thinking` blocks; custom `tools`, `tool_choice`,
`thinking`; parameters the hub does not interpret pass through to Claude models). Out:
`MessagesWriter`, the `message_start` … `message_stop` events (a content block opened for each
kind of piece as it comes) or the one `message` body, with the hub's `cost_credits` in
`usage`.
"""

from __future__ import annotations

import json
from typing import Any

from app.chat.events import (
    ChatError,
    Finish,
    FinishReason,
    LogprobsDelta,
    OutputDelta,
    Reply,
    TextDelta,
    ToolCallDelta,
)
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
from app.wire.base import (
    InvalidRequest,
    number,
    passthrough,
    positive_int,
    refuse_unmetered,
    schema_object,
    stop_list,
    tool_name,
)

STOP_REASONS = {FinishReason.STOP: "end_turn", FinishReason.LENGTH: "max_tokens",
                FinishReason.TOOL_CALLS: "tool_use", FinishReason.CONTENT_FILTER: "refusal"}
ANTHROPIC_STOP_REASONS = frozenset({"end_turn", "max_tokens", "stop_sequence", "tool_use",
                                    "pause_turn", "refusal"})
KNOWN = frozenset({"model", "max_tokens", "messages", "system", "stream", "temperature",
                   "top_p", "stop_sequences", "tools", "tool_choice", "thinking"})
UNMETERED = {
    "mcp_servers": "MCP connector tool calls are billed by the vendor in ways the hub cannot "
                   "meter",
    "container": "code execution containers are billed per hour, which the hub cannot meter",
}
MIN_THINKING_BUDGET = 1_024
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def parse_request(body: dict[str, Any]) -> ChatRequest:
    """A messages body as the hub's request; `InvalidRequest` names the first fault."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: required")
    max_tokens = positive_int(body, "max_tokens", required=True)
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest("messages: a non-empty list is required")
    refuse_unmetered(body, UNMETERED)
    messages = []
    if body.get("system") is not None:
        messages.append(Message(role="system", content=_system(body["system"])))
    for i, message in enumerate(raw):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{i}.role: must be user or assistant")
        messages.append(Message(role=role, content=_blocks(message.get("content"),
                                                           f"messages.{i}.content", role)))
    tools = _tools(body.get("tools"))
    choice, parallel = _tool_choice(body.get("tool_choice"), tools)
    return ChatRequest(model=model, messages=tuple(messages), max_tokens=max_tokens,
                       temperature=number(body, "temperature", 0, 1),
                       top_p=number(body, "top_p", 0, 1),
                       stop=stop_list(body.get("stop_sequences"), "stop_sequences"),
                       stream=body.get("stream") is True, tools=tools, tool_choice=choice,
                       parallel_tool_calls=parallel,
                       thinking_budget=_thinking(body.get("thinking"), max_tokens),
                       extra=passthrough(body, KNOWN), extra_format="anthropic")


def _system(system: Any) -> tuple[ContentPart, ...]:
    if isinstance(system, str):
        return (TextPart(system),)
    if isinstance(system, list) and system:
        return tuple(_text_block(block, f"system.{i}") for i, block in enumerate(system))
    raise InvalidRequest("system: must be a string or a list of text blocks")


def _text_block(block: Any, where: str) -> TextPart:
    if not isinstance(block, dict) or block.get("type") != "text" \
            or not isinstance(block.get("text"), str):
        raise InvalidRequest(f"{where}: a text block is required")
    return TextPart(block["text"], cache_control=_cache(block, where))


def _cache(block: dict[str, Any], where: str) -> dict[str, Any] | None:
    cache = block.get("cache_control")
    if cache is not None and (not isinstance(cache, dict) or cache.get("type") != "ephemeral"):
        raise InvalidRequest(f"{where}.cache_control: must be {{\"type\": \"ephemeral\"}}")
    return cache


def _blocks(content: Any, where: str, role: str) -> tuple[ContentPart, ...]:
    if isinstance(content, str):
        return (TextPart(content),)
    if not isinstance(content, list) or not content:
        raise InvalidRequest(f"{where}: must be a string or a non-empty list of blocks")
    return tuple(_block(block, f"{where}.{i}", role) for i, block in enumerate(content))


def _block(block: Any, where: str, role: str) -> ContentPart:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":
        return _text_block(block, where)
    if kind == "image" and role == "user":
        return _image(block, where)
    if kind == "tool_result" and role == "user":
        call_id = block.get("tool_use_id")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidRequest(f"{where}.tool_use_id: required")
        inner = block.get("content", "")
        parts: tuple[TextPart | ImagePart, ...]
        if isinstance(inner, str):
            parts = (TextPart(inner),)
        elif isinstance(inner, list):
            parts = tuple(_image(b, f"{where}.content.{i}") if isinstance(b, dict)
                          and b.get("type") == "image" else _text_block(b, f"{where}.content.{i}")
                          for i, b in enumerate(inner))
        else:
            raise InvalidRequest(f"{where}.content: must be a string or a list of blocks")
        return ToolResultPart(tool_call_id=call_id, content=parts,
                              is_error=block.get("is_error") is True,
                              cache_control=_cache(block, where))
    if kind == "tool_use" and role == "assistant":
        if not isinstance(block.get("id"), str) or not isinstance(block.get("input", {}), dict):
            raise InvalidRequest(f"{where}: an id and an input object are required")
        return ToolCallPart(id=block["id"], name=tool_name(block.get("name"), f"{where}.name"),
                            arguments=json.dumps(block.get("input", {}), separators=(",", ":")))
    if kind == "thinking" and role == "assistant":
        return ReasoningPart(str(block.get("thinking", "")),
                             signature=str(block.get("signature", "")))
    if kind == "redacted_thinking" and role == "assistant":
        return ReasoningPart("", redacted=str(block.get("data", "")))
    if kind == "document":
        raise InvalidRequest(f"{where}.type: document blocks are not supported")
    raise InvalidRequest(f"{where}.type: {kind!r} blocks are not supported in a {role} turn")


def _image(block: dict[str, Any], where: str) -> ImagePart:
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    if source.get("type") == "base64":
        media_type, data = source.get("media_type"), source.get("data")
        if media_type not in IMAGE_TYPES or not isinstance(data, str) or not data:
            raise InvalidRequest(f"{where}.source: a media_type of {', '.join(IMAGE_TYPES)} "
                                 "and base64 data are required")
        return ImagePart(f"data:{media_type};base64,{data}", cache_control=_cache(block, where))
    if source.get("type") == "url" and isinstance(source.get("url"), str) \
            and source["url"].startswith(("http://", "https://")):
        return ImagePart(source["url"], cache_control=_cache(block, where))
    raise InvalidRequest(f"{where}.source: a base64 or url image source is required")


def _tools(raw: Any) -> tuple[Tool, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidRequest("tools: must be a list")
    tools = []
    for i, tool in enumerate(raw):
        where = f"tools.{i}"
        if not isinstance(tool, dict):
            raise InvalidRequest(f"{where}: must be an object")
        if tool.get("type") not in (None, "custom"):
            raise InvalidRequest(f"{where}.type: Anthropic's built-in tools ({tool['type']}) are "
                                 "not supported: only custom tools with an input_schema are")
        description = tool.get("description")
        tools.append(Tool(name=tool_name(tool.get("name"), f"{where}.name"),
                          description=description if isinstance(description, str) else None,
                          parameters=schema_object(tool.get("input_schema"),
                                                   f"{where}.input_schema"),
                          cache_control=_cache(tool, where)))
    return tuple(tools)


def _tool_choice(raw: Any, tools: tuple[Tool, ...]) -> tuple[ToolChoice | None, bool | None]:
    if raw is None:
        return None, None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ("auto", "any", "tool", "none"):
        raise InvalidRequest("tool_choice.type: must be auto, any, tool or none")
    parallel = False if raw.get("disable_parallel_tool_use") is True else None
    if kind == "tool":
        name = raw.get("name")
        if name not in {tool.name for tool in tools}:
            raise InvalidRequest(f"tool_choice.name: no tool named {name!r} in tools")
        return ToolChoice(mode="tool", name=name), parallel
    if kind == "any" and not tools:
        raise InvalidRequest("tool_choice: any needs tools")
    return ToolChoice(mode="required" if kind == "any" else kind), parallel


def _thinking(raw: Any, max_tokens: int | None) -> int | None:
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "disabled":
        return None
    budget = raw.get("budget_tokens") if kind == "enabled" else None
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < MIN_THINKING_BUDGET \
            or (max_tokens is not None and budget >= max_tokens):
        raise InvalidRequest(f"thinking: {{\"type\": \"enabled\", \"budget_tokens\": N}} with N "
                             f"at least {MIN_THINKING_BUDGET} and below max_tokens, or "
                             "{\"type\": \"disabled\"}")
    return budget


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data}, separators=(',', ':'))}\n\n"


class MessagesWriter:
    """One reply (`reply_id`: the job's id) as message events or one body. `input_tokens`:
    the prompt's count as the hold was sized, for `message_start` (the charge comes at the
    end). Each kind of piece goes in a content block of its own, opened when its first piece
    comes and closed when a piece of another kind (or the end) does."""

    def __init__(self, reply_id: str, model: str, *, input_tokens: int = 0) -> None:
        self.id, self.model, self.input_tokens = f"msg_{reply_id}", model, input_tokens
        self._block = -1  # the open block's index
        self._open: tuple[str, int] | None = None  # its kind (and tool call index)

    _TEXT_HEAD = ('event: content_block_delta\ndata: {{"type":"content_block_delta","index":'
                  '{index},"delta":{{"type":"text_delta","text":')
    _TEXT_TAIL = "}}\n\n"

    def _message(self, content: list, stop_reason: str | None,
                 usage: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": content, "stop_reason": stop_reason, "stop_sequence": None,
                "usage": usage}

    def start(self) -> list[str]:
        return [_event("message_start", {"message": self._message(
                    [], None, {"input_tokens": self.input_tokens, "output_tokens": 0})})]

    def _switch(self, kind: tuple[str, int], block: dict[str, Any]) -> str:
        """Close the open block and open one for `kind`."""
        frames = self._close_block()
        self._block += 1
        self._open = kind
        self._text_head = self._TEXT_HEAD.format(index=self._block)
        return frames + _event("content_block_start", {"index": self._block,
                                                       "content_block": block})

    def _close_block(self) -> str:
        if self._open is None:
            return ""
        self._open = None
        return _event("content_block_stop", {"index": self._block})

    def text(self, text: str) -> str:
        if self._open != ("text", 0):
            return self._switch(("text", 0), {"type": "text", "text": ""}) + self.text(text)
        return self._text_head + json.dumps(text) + self._TEXT_TAIL

    def piece(self, piece: OutputDelta) -> str:
        if isinstance(piece, TextDelta):
            return self.text(piece.text) if not piece.choice else ""  # one choice only
        if piece.choice or isinstance(piece, LogprobsDelta):
            return ""  # one choice, and no log probabilities, in Anthropic's format
        if isinstance(piece, ToolCallDelta):
            frames = ""
            if self._open != ("tool_use", piece.index):
                frames = self._switch(("tool_use", piece.index), {
                    "type": "tool_use", "id": piece.id or f"toolu_{piece.index}",
                    "name": piece.name or "", "input": {}})
            if piece.arguments:
                frames += self._delta({"type": "input_json_delta",
                                       "partial_json": piece.arguments})
            return frames
        if piece.redacted is not None:
            return self._switch(("redacted_thinking", 0), {"type": "redacted_thinking",
                                                            "data": piece.redacted}) \
                + self._close_block()
        frames = ""
        if self._open != ("thinking", 0):
            frames = self._switch(("thinking", 0), {"type": "thinking", "thinking": "",
                                                    "signature": ""})
        if piece.text:
            frames += self._delta({"type": "thinking_delta", "thinking": piece.text})
        if piece.signature is not None:
            frames += self._delta({"type": "signature_delta", "signature": piece.signature})
            frames += self._close_block()
        return frames

    def _delta(self, delta: dict[str, Any]) -> str:
        return _event("content_block_delta", {"index": self._block, "delta": delta})

    def error(self, error: ChatError) -> str:
        return _event("error", {"error": {"type": "api_error", "message": error.message}})

    def finish(self, finish: Finish) -> list[str]:
        opening = "" if self._block >= 0 else self._switch(  # an empty reply: one empty block
            ("text", 0), {"type": "text", "text": ""})
        return [opening + self._close_block(),
                _event("message_delta", {
                    "delta": {"stop_reason": _stop_reason(finish), "stop_sequence": None},
                    "usage": _usage(finish)}),
                _event("message_stop", {})]

    def close(self) -> list[str]:
        return []

    def body(self, reply: Reply) -> dict[str, Any]:
        content = [_content_block(part) for part in reply.content] \
            or [{"type": "text", "text": ""}]
        return self._message(content, _stop_reason(reply.finish), _usage(reply.finish))


def _stop_reason(finish: Finish) -> str:
    """The provider's own word when it is Anthropic's (a stop sequence stays one)."""
    if finish.provider_reason in ANTHROPIC_STOP_REASONS \
            and FinishReason.of(finish.provider_reason) == finish.reason:
        return finish.provider_reason  # type: ignore[return-value]
    return STOP_REASONS[finish.reason]


def _content_block(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, ToolCallPart):
        try:
            arguments = json.loads(part.arguments) if part.arguments else {}
        except ValueError:
            arguments = {}
        return {"type": "tool_use", "id": part.id, "name": part.name,
                "input": arguments if isinstance(arguments, dict) else {}}
    if isinstance(part, ReasoningPart):
        if part.redacted is not None:
            return {"type": "redacted_thinking", "data": part.redacted}
        return {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}
    return {"type": "text", "text": part.text if isinstance(part, TextPart) else ""}


def _usage(finish: Finish) -> dict[str, Any]:
    """Anthropic's usage: `input_tokens` without the cached parts, which it reports apart."""
    return {"input_tokens": finish.input_tokens - finish.cached_input_tokens
            - finish.cache_write_tokens,
            "cache_read_input_tokens": finish.cached_input_tokens,
            "cache_creation_input_tokens": finish.cache_write_tokens,
            "output_tokens": finish.output_tokens, "cost_credits": finish.cost_credits}

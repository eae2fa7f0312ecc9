"""OpenAI's chat completions format, as the hub's `/v1/chat/completions` speaks it.

In: `parse_request` (system and developer turns are both system turns; text and image parts;
assistant `tool_calls` and `tool` turns; function `tools`, `tool_choice`, `response_format`,
`reasoning_effort`, `n`; parameters the hub does not interpret pass through to OpenAI
models). Out: `ChatCompletionWriter`, the `chat.completion.chunk` frames ending in
`data: [DONE]` or the one `chat.completion` body, with the hub's `cost_credits` in `usage`.
Reasoning, which OpenAI's own chat API does not show, is sent as `reasoning_content`, the
name OpenAI-compatible servers use.
"""

from __future__ import annotations

import json
import time
from typing import Any

from app.chat.events import (
    ChatError,
    Finish,
    FinishReason,
    LogprobsDelta,
    OutputDelta,
    ReasoningDelta,
    Reply,
    TextDelta,
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
    text_of,
    tool_name,
)

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant",
         "tool": "tool"}
FINISH_REASONS = {FinishReason.STOP: "stop", FinishReason.LENGTH: "length",
                  FinishReason.TOOL_CALLS: "tool_calls",
                  FinishReason.CONTENT_FILTER: "content_filter"}
MAX_CHOICES = 8
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
# What the hub reads itself; everything else in a body passes through to OpenAI models.
KNOWN = frozenset({"model", "messages", "max_tokens", "max_completion_tokens", "temperature",
                   "top_p", "stop", "stream", "stream_options", "n", "tools", "tool_choice",
                   "parallel_tool_calls", "response_format", "reasoning_effort", "functions",
                   "function_call"})
UNMETERED = {
    "service_tier": "its tiers are priced differently from the hub's price list",
    "web_search_options": "web search is billed per call, which the hub cannot meter",
    "audio": "audio output is billed at audio rates, which the hub does not price",
}


def parse_request(body: dict[str, Any]) -> ChatRequest:
    """A chat completions body as the hub's request; `InvalidRequest` names the first fault."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: required")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise InvalidRequest("messages: a non-empty list is required")
    messages = tuple(_message(message, f"messages[{i}]")
                     for i, message in enumerate(raw_messages))
    if body.get("functions") is not None or body.get("function_call") is not None:
        raise InvalidRequest("functions: the deprecated functions API is not supported; "
                             "send tools and tool_choice")
    if body.get("service_tier") in ("auto", "default"):
        body = {name: value for name, value in body.items() if name != "service_tier"}
    if "audio" in (body.get("modalities") or ()):
        raise InvalidRequest("modalities: audio output is not supported: it is billed at "
                             "audio rates, which the hub does not price")
    refuse_unmetered(body, UNMETERED)
    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_CHOICES:
        raise InvalidRequest(f"n: must be an integer from 1 to {MAX_CHOICES}")
    tools = _tools(body.get("tools"))
    max_tokens = positive_int(body, "max_completion_tokens") or positive_int(body, "max_tokens")
    stream = body.get("stream") is True
    options = body.get("stream_options") or {}
    return ChatRequest(
        model=model, messages=messages, max_tokens=max_tokens,
        temperature=number(body, "temperature", 0, 2), top_p=number(body, "top_p", 0, 1),
        stop=stop_list(body.get("stop"), "stop"), stream=stream,
        include_usage=stream and isinstance(options, dict)
        and options.get("include_usage") is True,
        tools=tools, tool_choice=_tool_choice(body.get("tool_choice"), tools),
        parallel_tool_calls=_optional_bool(body, "parallel_tool_calls"),
        response_format=_response_format(body.get("response_format")),
        reasoning_effort=_reasoning_effort(body.get("reasoning_effort")), n=n,
        extra=passthrough(body, KNOWN), extra_format="openai")


def _message(message: Any, where: str) -> Message:
    role = message.get("role") if isinstance(message, dict) else None
    if role not in ROLES:
        raise InvalidRequest(f"{where}.role: must be one of {', '.join(ROLES)}")
    name = message.get("name") if isinstance(message.get("name"), str) else None
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidRequest(f"{where}.tool_call_id: required in a tool message")
        result = ToolResultPart(tool_call_id=call_id, content=(
            TextPart(text_of(message.get("content", ""), f"{where}.content")),))
        return Message(role="tool", content=(result,))
    if role == "assistant":
        return Message(role="assistant", content=_assistant_content(message, where), name=name)
    if role in ("system", "developer"):
        return Message(role="system", content=(
            TextPart(text_of(message.get("content"), f"{where}.content")),), name=name)
    return Message(role="user", content=_user_content(message.get("content"),
                                                      f"{where}.content"), name=name)


def _user_content(content: Any, where: str) -> tuple[ContentPart, ...]:
    if isinstance(content, str):
        return (TextPart(content),)
    if not isinstance(content, list) or not content:
        raise InvalidRequest(f"{where}: must be a string or a non-empty list of parts")
    return tuple(_user_part(part, f"{where}[{i}]") for i, part in enumerate(content))


def _user_part(part: Any, where: str) -> ContentPart:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text" and isinstance(part.get("text"), str):
        return TextPart(part["text"])
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "data:image/")):
            raise InvalidRequest(f"{where}.image_url.url: an http(s) URL or a data:image/ URL "
                                 "is required")
        detail = image.get("detail") if isinstance(image, dict) else None
        if detail not in (None, "auto", "low", "high"):
            raise InvalidRequest(f"{where}.image_url.detail: must be auto, low or high")
        return ImagePart(url, detail=detail)
    if kind in ("input_audio", "file"):
        raise InvalidRequest(f"{where}.type: {kind} parts are not supported (text and images "
                             "are)")
    raise InvalidRequest(f"{where}: a text or image_url part is required")


def _assistant_content(message: dict[str, Any], where: str) -> tuple[ContentPart, ...]:
    parts: list[ContentPart] = []
    content = message.get("content")
    if isinstance(content, list):
        for i, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") == "refusal":
                parts.append(TextPart(str(part.get("refusal", ""))))
            elif isinstance(part, dict) and part.get("type") == "text" \
                    and isinstance(part.get("text"), str):
                parts.append(TextPart(part["text"]))
            else:
                raise InvalidRequest(f"{where}.content[{i}]: a text or refusal part is required")
    elif isinstance(content, str):
        parts.append(TextPart(content))
    elif content is not None:
        raise InvalidRequest(f"{where}.content: must be a string, a list of parts or null")
    calls = message.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise InvalidRequest(f"{where}.tool_calls: must be a list")
        parts.extend(_tool_call(call, f"{where}.tool_calls[{i}]") for i, call in enumerate(calls))
    if not parts:
        if content is None and calls is None:
            raise InvalidRequest(f"{where}.content: required unless tool_calls are given")
        parts.append(TextPart(""))
    return tuple(parts)


def _tool_call(call: Any, where: str) -> ToolCallPart:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(call.get("id"), str):
        raise InvalidRequest(f"{where}: an id and a function are required")
    arguments = function.get("arguments", "")
    if not isinstance(arguments, str):
        raise InvalidRequest(f"{where}.function.arguments: must be a JSON string")
    return ToolCallPart(id=call["id"], name=tool_name(function.get("name"),
                                                      f"{where}.function.name"),
                        arguments=arguments)


def _tools(raw: Any) -> tuple[Tool, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidRequest("tools: must be a list")
    tools = []
    for i, tool in enumerate(raw):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise InvalidRequest(f"{where}.type: only function tools are supported"
                                 + (f", not {kind!r}" if kind else ""))
        function = tool.get("function")
        if not isinstance(function, dict):
            raise InvalidRequest(f"{where}.function: required")
        description = function.get("description")
        strict = function.get("strict")
        tools.append(Tool(name=tool_name(function.get("name"), f"{where}.function.name"),
                          description=description if isinstance(description, str) else None,
                          parameters=schema_object(function.get("parameters", {}),
                                                   f"{where}.function.parameters"),
                          strict=strict if isinstance(strict, bool) else None))
    return tuple(tools)


def _tool_choice(raw: Any, tools: tuple[Tool, ...]) -> ToolChoice | None:
    if raw is None:
        return None
    if raw in ("auto", "none", "required"):
        if raw == "required" and not tools:
            raise InvalidRequest("tool_choice: required needs tools")
        return ToolChoice(mode=raw)
    name = ((raw.get("function") or {}).get("name") if isinstance(raw, dict)
            and raw.get("type") == "function" else None)
    if not isinstance(name, str):
        raise InvalidRequest("tool_choice: auto, none, required or "
                             '{"type": "function", "function": {"name": ...}}')
    if name not in {tool.name for tool in tools}:
        raise InvalidRequest(f"tool_choice: no tool named {name!r} in tools")
    return ToolChoice(mode="tool", name=name)


def _optional_bool(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidRequest(f"{name}: must be true or false")
    return value


def _response_format(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise InvalidRequest("response_format.type: must be text, json_object or json_schema")
    if kind == "json_schema":
        schema = raw.get("json_schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("name"), str):
            raise InvalidRequest("response_format.json_schema: an object with a name and a "
                                 "schema is required")
    return raw


def _reasoning_effort(raw: Any) -> str | None:
    if raw is not None and raw not in REASONING_EFFORTS:
        raise InvalidRequest(f"reasoning_effort: must be one of {', '.join(REASONING_EFFORTS)}")
    return raw


def openai_finish_reason(provider_reason: str | None) -> str | None:
    """A provider's finish reason in OpenAI's vocabulary."""
    if provider_reason is None:
        return None
    return FINISH_REASONS[FinishReason.of(provider_reason)]


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class ChatCompletionWriter:
    """One reply (`reply_id`: the job's id) as chat completion chunks or one body; `n`
    choices."""

    def __init__(self, reply_id: str, model: str, *, include_usage: bool = False,
                 created: int | None = None, n: int = 1) -> None:
        self.id, self.model, self.include_usage = f"chatcmpl-{reply_id}", model, include_usage
        self.n = n
        self.created = int(time.time()) if created is None else created
        self._called: set[tuple[int, int]] = set()  # (choice, index) of calls already named
        # a text chunk is this head, the text as JSON, and the tail
        self._text_head = (f'data: {{"id":{_compact(self.id)},"object":"chat.completion.chunk",'
                           f'"created":{self.created},"model":{_compact(model)},'
                           f'"choices":[{{"index":0,"delta":{{"content":')
        self._text_tail = '},"finish_reason":null}]}\n\n'

    def _chunk(self, delta: dict, finish: str | None, usage: dict | None = None,
               choices: bool = True, index: int = 0, logprobs: list | None = None) -> str:
        choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": finish}
        if logprobs is not None:
            choice["logprobs"] = {"content": logprobs}
        body: dict[str, Any] = {"id": self.id, "object": "chat.completion.chunk",
                                "created": self.created, "model": self.model,
                                "choices": [choice] if choices else []}
        if usage is not None:
            body["usage"] = usage
        return f"data: {_compact(body)}\n\n"

    def start(self) -> list[str]:
        return [self._chunk({"role": "assistant", "content": ""}, None, index=i)
                for i in range(self.n)]

    def text(self, text: str) -> str:
        return self._text_head + json.dumps(text) + self._text_tail

    def piece(self, piece: OutputDelta) -> str:
        if isinstance(piece, TextDelta):
            return self._chunk({"content": piece.text}, None, index=piece.choice)
        if isinstance(piece, LogprobsDelta):
            return self._chunk({}, None, index=piece.choice, logprobs=list(piece.content))
        if isinstance(piece, ReasoningDelta):
            if not piece.text:
                return ""  # a signature: OpenAI's format has no place for one
            return self._chunk({"reasoning_content": piece.text}, None, index=piece.choice)
        call: dict[str, Any] = {"index": piece.index,
                                "function": {"arguments": piece.arguments}}
        if (piece.choice, piece.index) not in self._called:
            self._called.add((piece.choice, piece.index))
            call = {"index": piece.index, "id": piece.id or f"call_{piece.index}",
                    "type": "function",
                    "function": {"name": piece.name or "", "arguments": piece.arguments}}
        return self._chunk({"tool_calls": [call]}, None, index=piece.choice)

    def error(self, error: ChatError) -> str:
        body = {"error": {"message": error.message, "type": "server_error", "param": None,
                          "code": error.code}}
        return f"data: {json.dumps(body)}\n\n"

    def finish(self, finish: Finish) -> list[str]:
        frames = [self._chunk({}, FINISH_REASONS[finish.reason], index=i) for i in range(self.n)]
        if self.include_usage:
            frames.append(self._chunk({}, None, _usage(finish), choices=False))
        return frames

    def close(self) -> list[str]:
        return ["data: [DONE]\n\n"]

    def body(self, reply: Reply) -> dict[str, Any]:
        choices = reply.choices or ((),)
        logprobs = reply.logprobs or (None,) * len(choices)
        return {"id": self.id, "object": "chat.completion", "created": self.created,
                "model": self.model,
                "choices": [{"index": i, "message": _message_body(content),
                             "logprobs": {"content": list(logprobs[i])}
                             if i < len(logprobs) and logprobs[i] is not None else None,
                             "finish_reason": FINISH_REASONS[reply.finish.reason]}
                            for i, content in enumerate(choices)],
                "usage": _usage(reply.finish)}


def _message_body(content: tuple[ContentPart, ...]) -> dict[str, Any]:
    text = "".join(part.text for part in content if isinstance(part, TextPart))
    calls = [part for part in content if isinstance(part, ToolCallPart)]
    message: dict[str, Any] = {"role": "assistant",
                               "content": text if text or not calls else None}
    if calls:
        message["tool_calls"] = [{"id": call.id, "type": "function", "function": {
            "name": call.name, "arguments": call.arguments}} for call in calls]
    reasoning = "".join(part.text for part in content if isinstance(part, ReasoningPart))
    if reasoning:
        message["reasoning_content"] = reasoning
    return message


def _usage(finish: Finish) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": finish.input_tokens, "completion_tokens": finish.output_tokens,
        "total_tokens": finish.input_tokens + finish.output_tokens,
        "prompt_tokens_details": {"cached_tokens": finish.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": finish.reasoning_tokens},
        "cost_credits": finish.cost_credits}
    if finish.cache_write_tokens:
        usage["prompt_tokens_details"]["cache_write_tokens"] = finish.cache_write_tokens
    return usage

"""OpenAI's Responses API, as the hub's `/v1/responses` speaks it: stateless.

In: `parse_request` (`input` as a string or a list of items: messages of `input_text`,
`input_image` and `output_text` parts, `function_call` and `function_call_output` items;
`reasoning` items are skipped, as chat completions takes no reasoning back; `instructions`
as the first, system, turn; flat function `tools`, `tool_choice`, `text.format`,
`max_output_tokens`, `reasoning.effort`). The hub keeps no responses, so a request that
points at a stored one (`previous_response_id`, `conversation`, `prompt`, `item_reference`)
or asks for a background run is refused; hosted tools (web search, file search, code
interpreter, computer use, MCP, image generation) are billed per call by the vendor, which the
hub cannot meter, and are refused too. Parameters the hub does not interpret pass through to
OpenAI models' chat completions, except the Responses-only ones in `DROPPED`.

Out: `ResponsesWriter`, the `response.*` events (each with its `sequence_number`, no
`[DONE]`) or the one `response` object, with the hub's `cost_credits` in `usage`.
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
    positive_int,
    schema_object,
    tool_name,
)
from app.wire.openai_chat import REASONING_EFFORTS

# What the hub reads itself.
KNOWN = frozenset({"model", "input", "instructions", "tools", "tool_choice",
                   "parallel_tool_calls", "text", "max_output_tokens", "temperature", "top_p",
                   "reasoning", "stream", "n"})
# Responses-only parameters with no meaning for chat completions, accepted and left out:
# `store` (the hub keeps nothing), `include` (encrypted reasoning, logprobs), `truncation`,
# `max_tool_calls` (it counts hosted tool calls, which are refused), `top_logprobs`,
# `stream_options` (obfuscation), `service_tier` when auto or default (others are refused).
DROPPED = frozenset({"store", "include", "truncation", "max_tool_calls", "top_logprobs",
                     "stream_options", "service_tier"})
STATEFUL = "the hub does not keep responses; send the whole conversation as input"
REFUSED = {
    "previous_response_id": STATEFUL,
    "conversation": STATEFUL,
    "prompt": "stored prompt templates live with OpenAI; send instructions and input",
    "background": "background responses are stored to be polled, and the hub keeps none",
    "messages": "the Responses API takes the conversation as input",
    "max_tokens": "send max_output_tokens",
    "max_completion_tokens": "send max_output_tokens",
}
HOSTED_TOOLS = {"web_search", "web_search_preview", "web_search_2025_08_26",
                "web_search_preview_2025_03_11", "file_search", "code_interpreter",
                "computer_use_preview", "computer_use", "mcp", "image_generation",
                "local_shell", "shell", "apply_patch", "custom", "tool_search"}
MESSAGE_ROLES = {"user": "user", "system": "system", "developer": "system",
                 "assistant": "assistant"}
IMAGE_DETAILS = (None, "auto", "low", "high")


def parse_request(body: dict[str, Any]) -> ChatRequest:
    """A Responses body as the hub's request; `InvalidRequest` names the first fault."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: required")
    for name, why in REFUSED.items():
        if body.get(name) not in (None, False):
            raise InvalidRequest(f"{name}: {why}")
    if body.get("service_tier") not in (None, "auto", "default"):
        raise InvalidRequest("service_tier: not supported: its tiers are priced differently "
                             "from the hub's price list")
    if body.get("n") not in (None, 1):
        raise InvalidRequest("n: a response has one output; send one request per reply")
    messages = _instructions(body.get("instructions")) + _input(body.get("input"))
    tools = _tools(body.get("tools"))
    text = body.get("text") if body.get("text") is not None else {}
    if not isinstance(text, dict):
        raise InvalidRequest("text: must be an object")
    extra = {name: value for name, value in body.items()
             if name not in KNOWN and name not in DROPPED and name not in REFUSED}
    if text.get("verbosity") is not None:
        extra["verbosity"] = text["verbosity"]  # chat completions' name for the same knob
    return ChatRequest(
        model=model, messages=messages, max_tokens=positive_int(body, "max_output_tokens"),
        temperature=number(body, "temperature", 0, 2), top_p=number(body, "top_p", 0, 1),
        stream=body.get("stream") is True, tools=tools,
        tool_choice=_tool_choice(body.get("tool_choice"), tools),
        parallel_tool_calls=_optional_bool(body, "parallel_tool_calls"),
        response_format=_response_format(text.get("format")),
        reasoning_effort=_reasoning_effort(body.get("reasoning")),
        extra=extra, extra_format="openai")


def _instructions(raw: Any) -> tuple[Message, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, str):
        raise InvalidRequest("instructions: must be a string")
    return (Message(role="system", content=(TextPart(raw),)),)


def _input(raw: Any) -> tuple[Message, ...]:
    if isinstance(raw, str):
        return (Message(role="user", content=(TextPart(raw),)),)
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest("input: a string or a non-empty list of items is required")
    messages: list[Message] = []
    for i, item in enumerate(raw):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise InvalidRequest(f"{where}: must be an object")
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            messages.append(_message(item, where))
        elif kind == "function_call":
            _add_call(messages, _function_call(item, where))
        elif kind == "function_call_output":
            messages.append(Message(role="tool", content=(_call_output(item, where),)))
        elif kind == "reasoning":
            continue  # chat completions takes no reasoning back; summaries are not sent
        elif kind == "item_reference":
            raise InvalidRequest(f"{where}.type: item_reference: {STATEFUL}")
        else:
            raise InvalidRequest(f"{where}.type: {kind!r} items are not supported (messages, "
                                 "function_call, function_call_output and reasoning are)")
    if not any(message.role != "system" for message in messages):
        raise InvalidRequest("input: at least one message or function call output is required")
    return tuple(messages)


def _add_call(messages: list[Message], call: ToolCallPart) -> None:
    """A function call joins the assistant turn it follows (its text, the other calls), as
    one assistant message carries them in chat completions and Anthropic's messages."""
    if messages and messages[-1].role == "assistant":
        last = messages[-1]
        messages[-1] = Message(role="assistant", content=last.content + (call,), name=last.name)
    else:
        messages.append(Message(role="assistant", content=(call,)))


def _message(item: dict[str, Any], where: str) -> Message:
    role = MESSAGE_ROLES.get(item.get("role"))  # type: ignore[arg-type]
    if role is None:
        raise InvalidRequest(f"{where}.role: must be one of {', '.join(MESSAGE_ROLES)}")
    content = item.get("content")
    if isinstance(content, str):
        return Message(role=role, content=(TextPart(content),))
    if not isinstance(content, list) or not content:
        raise InvalidRequest(f"{where}.content: must be a string or a non-empty list of parts")
    return Message(role=role, content=tuple(_part(part, f"{where}.content[{i}]", role)
                                            for i, part in enumerate(content)))


def _part(part: Any, where: str, role: str) -> ContentPart:
    kind = part.get("type") if isinstance(part, dict) else None
    texts = ("output_text", "refusal", "input_text") if role == "assistant" else ("input_text",)
    if kind in texts:
        text = part.get("refusal" if kind == "refusal" else "text")
        if not isinstance(text, str):
            raise InvalidRequest(f"{where}.text: must be a string")
        return TextPart(text)
    if kind == "input_image" and role == "user":
        return _image(part, where)
    if kind in ("input_file", "input_audio"):
        raise InvalidRequest(f"{where}.type: {kind} parts are not supported (text and images "
                             "are)")
    allowed = " or ".join(texts + (("input_image",) if role == "user" else ()))
    raise InvalidRequest(f"{where}.type: must be {allowed} in "
                         f"{'an' if role == 'assistant' else 'a'} {role} message")


def _image(part: dict[str, Any], where: str) -> ImagePart:
    url = part.get("image_url")
    if part.get("file_id") is not None and url is None:
        raise InvalidRequest(f"{where}.file_id: uploaded files are not supported; send the "
                             "image as image_url (an http(s) URL or a data:image/ URL)")
    if not isinstance(url, str) or not url.startswith(("http://", "https://", "data:image/")):
        raise InvalidRequest(f"{where}.image_url: an http(s) URL or a data:image/ URL is "
                             "required")
    detail = part.get("detail")
    if detail not in IMAGE_DETAILS:
        raise InvalidRequest(f"{where}.detail: must be auto, low or high")
    return ImagePart(url, detail=detail)


def _function_call(item: dict[str, Any], where: str) -> ToolCallPart:
    call_id, arguments = item.get("call_id"), item.get("arguments", "")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequest(f"{where}.call_id: required")
    if not isinstance(arguments, str):
        raise InvalidRequest(f"{where}.arguments: must be a JSON string")
    return ToolCallPart(id=call_id, name=tool_name(item.get("name"), f"{where}.name"),
                        arguments=arguments)


def _call_output(item: dict[str, Any], where: str) -> ToolResultPart:
    call_id, output = item.get("call_id"), item.get("output")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequest(f"{where}.call_id: required")
    if isinstance(output, str):
        parts: tuple[TextPart | ImagePart, ...] = (TextPart(output),)
    elif isinstance(output, list):
        parts = tuple(_output_part(part, f"{where}.output[{i}]") for i, part in enumerate(output))
    else:
        raise InvalidRequest(f"{where}.output: must be a string or a list of parts")
    return ToolResultPart(tool_call_id=call_id, content=parts)


def _output_part(part: Any, where: str) -> TextPart | ImagePart:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "input_text" and isinstance(part.get("text"), str):
        return TextPart(part["text"])
    if kind == "input_image":
        return _image(part, where)
    raise InvalidRequest(f"{where}.type: must be input_text or input_image")


def _tools(raw: Any) -> tuple[Tool, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidRequest("tools: must be a list")
    hosted = sorted({str(tool.get("type")) for tool in raw
                     if isinstance(tool, dict) and tool.get("type") in HOSTED_TOOLS})
    if hosted:
        raise InvalidRequest(f"tools: {', '.join(hosted)} tools are not supported: hosted tools "
                             "are billed per call, which the hub cannot meter; only function "
                             "tools are")
    tools = []
    for i, tool in enumerate(raw):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise InvalidRequest(f"{where}.type: only function tools are supported"
                                 + (f", not {kind!r}" if kind else ""))
        description, strict = tool.get("description"), tool.get("strict")
        parameters = tool.get("parameters")
        tools.append(Tool(name=tool_name(tool.get("name"), f"{where}.name"),
                          description=description if isinstance(description, str) else None,
                          parameters=schema_object(parameters if parameters is not None
                                                   else {}, f"{where}.parameters"),
                          strict=strict if isinstance(strict, bool) else None))
    return tuple(tools)


def _tool_choice(raw: Any, tools: tuple[Tool, ...]) -> ToolChoice | None:
    if raw is None:
        return None
    if raw in ("auto", "none", "required"):
        if raw == "required" and not tools:
            raise InvalidRequest("tool_choice: required needs tools")
        return ToolChoice(mode=raw)
    name = raw.get("name") if isinstance(raw, dict) and raw.get("type") == "function" else None
    if not isinstance(name, str):
        raise InvalidRequest('tool_choice: auto, none, required or {"type": "function", '
                             '"name": ...}')
    if name not in {tool.name for tool in tools}:
        raise InvalidRequest(f"tool_choice: no tool named {name!r} in tools")
    return ToolChoice(mode="tool", name=name)


def _optional_bool(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidRequest(f"{name}: must be true or false")
    return value


def _response_format(raw: Any) -> dict[str, Any] | None:
    """`text.format` in chat completions' `response_format` shape, the one the adapters
    read (the schema's fields move under `json_schema`)."""
    if raw is None:
        return None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind in ("text", "json_object"):
        return {"type": kind}
    if kind != "json_schema":
        raise InvalidRequest("text.format.type: must be text, json_object or json_schema")
    name, schema = raw.get("name"), raw.get("schema")
    if not isinstance(name, str) or not name or not isinstance(schema, dict):
        raise InvalidRequest("text.format: a json_schema format needs a name and a schema")
    json_schema: dict[str, Any] = {"name": name, "schema": schema}
    for key in ("description", "strict"):
        if raw.get(key) is not None:
            json_schema[key] = raw[key]
    return {"type": "json_schema", "json_schema": json_schema}


def _reasoning_effort(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidRequest("reasoning: must be an object")
    effort = raw.get("effort")
    if effort is not None and effort not in REASONING_EFFORTS:
        raise InvalidRequest(f"reasoning.effort: must be one of {', '.join(REASONING_EFFORTS)}")
    return effort


def response_echo(body: dict[str, Any]) -> dict[str, Any]:
    """The request's settings a response object repeats (OpenAI's defaults where unset)."""
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    return {"instructions": body.get("instructions"), "metadata": body.get("metadata") or {},
            "tools": body.get("tools") or [], "tool_choice": body.get("tool_choice") or "auto",
            "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
            "temperature": body.get("temperature"), "top_p": body.get("top_p"),
            "max_output_tokens": body.get("max_output_tokens"),
            "text": {"format": text.get("format") or {"type": "text"}},
            "reasoning": {"effort": reasoning.get("effort"), "summary": None},
            "store": False, "background": False, "previous_response_id": None}


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _event(kind: str, seq: int, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {_compact({'type': kind, **data, 'sequence_number': seq})}\n\n"


class _Item:
    """An output item being streamed: its kind, id and what it has gathered so far."""

    __slots__ = ("kind", "id", "index", "parts", "call_id", "name")

    def __init__(self, kind: str, item_id: str, index: int, *, call_id: str = "",
                 name: str = "") -> None:
        self.kind, self.id, self.index = kind, item_id, index
        self.parts: list[str] = []
        self.call_id, self.name = call_id, name

    def body(self, status: str) -> dict[str, Any]:
        text = "".join(self.parts)
        if self.kind == "message":
            return _message_item(self.id, text, status)
        if self.kind == "function_call":
            return _call_item(self.id, self.call_id, self.name, text, status)
        return _reasoning_item(self.id, text, status)


def _message_item(item_id: str, text: str | None, status: str) -> dict[str, Any]:
    content = [] if text is None else [{"type": "output_text", "text": text,
                                        "annotations": [], "logprobs": []}]
    return {"type": "message", "id": item_id, "status": status, "role": "assistant",
            "content": content}


def _call_item(item_id: str, call_id: str, name: str, arguments: str,
               status: str) -> dict[str, Any]:
    return {"type": "function_call", "id": item_id, "call_id": call_id, "name": name,
            "arguments": arguments, "status": status}


def _reasoning_item(item_id: str, text: str | None, status: str) -> dict[str, Any]:
    content = [] if text is None else [{"type": "reasoning_text", "text": text}]
    return {"type": "reasoning", "id": item_id, "summary": [], "content": content,
            "status": status}


class ResponsesWriter:
    """One reply (`reply_id`: the job's id) as Responses events or one response object.
    `echo`: the request's settings the response repeats (`response_echo`).

    Each kind of piece goes in an output item of its own, opened when its first piece comes
    and closed when a piece of another kind (or the end) does: text in a `message`, a tool
    call in a `function_call`, reasoning in a `reasoning` item with `reasoning_text` content.
    Only the first choice is sent (a request here asks for one)."""

    def __init__(self, reply_id: str, model: str, *, echo: dict[str, Any] | None = None,
                 created_at: int | None = None) -> None:
        self.id, self.model = f"resp_{reply_id}", model
        self._reply_id = reply_id
        self.echo = echo if echo is not None else response_echo({})
        self.created_at = int(time.time()) if created_at is None else created_at
        self._seq = -1
        self._items: list[_Item] = []
        self._open: _Item | None = None
        self._open_key: tuple[str, int] | None = None
        self._error: ChatError | None = None
        self._text_head = ""
        self._text_tail = "}\n\n"

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _response(self, status: str, output: list[dict[str, Any]],
                  finish: Finish | None = None) -> dict[str, Any]:
        incomplete = None
        if status == "incomplete" and finish is not None:
            incomplete = {"reason": "max_output_tokens" if finish.reason is FinishReason.LENGTH
                          else "content_filter"}
        # `code` in a response's error is one of OpenAI's words; the hub's own code went out
        # in the `error` event before it
        error = {"code": "server_error", "message": self._error.message} \
            if status == "failed" and self._error else None
        return {"id": self.id, "object": "response", "created_at": self.created_at,
                "status": status, "error": error, "incomplete_details": incomplete,
                "model": self.model, "output": output, **self.echo,
                "usage": _usage(finish) if finish is not None else None}

    def start(self) -> list[str]:
        response = self._response("in_progress", [])
        return [_event("response.created", self._next(), {"response": response}),
                _event("response.in_progress", self._next(), {"response": response})]

    def _switch(self, key: tuple[str, int], item: _Item) -> str:
        """Close the open item and open `item` (for pieces of the kind `key`)."""
        frames = self._close_item("completed")
        self._items.append(item)
        self._open, self._open_key = item, key
        frames += _event("response.output_item.added", self._next(),
                         {"output_index": item.index, "item": _opening(item)})
        if item.kind == "message":
            frames += _event("response.content_part.added", self._next(), {
                "item_id": item.id, "output_index": item.index, "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}})
            self._text_head = (
                'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
                f'"item_id":{_compact(item.id)},"output_index":{item.index},"content_index":0,'
                '"logprobs":[],"delta":')
        elif item.kind == "reasoning":
            frames += _event("response.content_part.added", self._next(), {
                "item_id": item.id, "output_index": item.index, "content_index": 0,
                "part": {"type": "reasoning_text", "text": ""}})
        return frames

    def _close_item(self, status: str) -> str:
        item = self._open
        if item is None:
            return ""
        self._open = self._open_key = None
        where = {"item_id": item.id, "output_index": item.index}
        text = "".join(item.parts)
        frames = ""
        if item.kind == "message":
            frames += _event("response.output_text.done", self._next(), {
                **where, "content_index": 0, "text": text, "logprobs": []})
            frames += _event("response.content_part.done", self._next(), {
                **where, "content_index": 0,
                "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []}})
        elif item.kind == "function_call":
            frames += _event("response.function_call_arguments.done", self._next(), {
                **where, "name": item.name, "arguments": text})
        else:
            frames += _event("response.reasoning_text.done", self._next(), {
                **where, "content_index": 0, "text": text})
            frames += _event("response.content_part.done", self._next(), {
                **where, "content_index": 0, "part": {"type": "reasoning_text", "text": text}})
        return frames + _event("response.output_item.done", self._next(), {
            "output_index": item.index, "item": item.body(status)})

    def _new_item(self, kind: str, prefix: str, **call: str) -> _Item:
        index = len(self._items)
        return _Item(kind, f"{prefix}_{self._reply_id}_{index}", index, **call)

    def text(self, text: str) -> str:
        if self._open_key != ("message", 0):
            return self._switch(("message", 0), self._new_item("message", "msg")) \
                + self.text(text)
        self._open.parts.append(text)  # type: ignore[union-attr]
        self._seq += 1
        return f'{self._text_head}{json.dumps(text)},"sequence_number":{self._seq}}}\n\n'

    def piece(self, piece: OutputDelta) -> str:
        if piece.choice or isinstance(piece, LogprobsDelta):
            return ""  # one output only; log probabilities are not asked for here
        if isinstance(piece, TextDelta):
            return self.text(piece.text)
        if isinstance(piece, ReasoningDelta):
            return self._reasoning(piece)
        frames = ""
        if self._open_key != ("function_call", piece.index):
            item = self._new_item("function_call", "fc", call_id=piece.id
                                  or f"call_{piece.index}", name=piece.name or "")
            frames = self._switch(("function_call", piece.index), item)
        if piece.arguments:
            item = self._open
            item.parts.append(piece.arguments)  # type: ignore[union-attr]
            frames += _event("response.function_call_arguments.delta", self._next(), {
                "item_id": item.id, "output_index": item.index,  # type: ignore[union-attr]
                "delta": piece.arguments})
        return frames

    def _reasoning(self, piece: ReasoningDelta) -> str:
        if not piece.text:
            return ""  # a signature or redacted thinking: nothing a client can read
        frames = ""
        if self._open_key != ("reasoning", 0):
            frames = self._switch(("reasoning", 0), self._new_item("reasoning", "rs"))
        item = self._open
        item.parts.append(piece.text)  # type: ignore[union-attr]
        return frames + _event("response.reasoning_text.delta", self._next(), {
            "item_id": item.id, "output_index": item.index,  # type: ignore[union-attr]
            "content_index": 0, "delta": piece.text})

    def error(self, error: ChatError) -> str:
        """The `error` event now; `finish` then ends the stream with `response.failed`."""
        self._error = error
        return _event("error", self._next(), {"code": error.code, "message": error.message,
                                              "param": None})

    def finish(self, finish: Finish) -> list[str]:
        status = _status(finish, self._error)
        frames = self._close_item("completed" if status == "completed" else "incomplete")
        kind = {"completed": "response.completed", "incomplete": "response.incomplete",
                "failed": "response.failed"}[status]
        output = [item.body("completed" if status == "completed" or item is not self._items[-1]
                            else "incomplete") for item in self._items]
        response = self._response(status, output, finish)
        return [frames + _event(kind, self._next(), {"response": response})]

    def close(self) -> list[str]:
        return []

    def body(self, reply: Reply) -> dict[str, Any]:
        status = _status(reply.finish, None)
        output = [_output_item(part, f"{self._reply_id}_{i}", status)
                  for i, part in enumerate(_joined(reply.content))]
        return self._response(status, output, reply.finish)


def _opening(item: _Item) -> dict[str, Any]:
    """An item as `response.output_item.added` shows it: in progress, empty."""
    if item.kind == "message":
        return _message_item(item.id, None, "in_progress")
    if item.kind == "function_call":
        return _call_item(item.id, item.call_id, item.name, "", "in_progress")
    return _reasoning_item(item.id, None, "in_progress")


def _status(finish: Finish, error: ChatError | None) -> str:
    if error is not None:
        return "failed"
    if finish.reason in (FinishReason.LENGTH, FinishReason.CONTENT_FILTER):
        return "incomplete"
    return "completed"


def _joined(content: tuple[ContentPart, ...]) -> list[ContentPart]:
    """A reply's parts with redacted reasoning left out (a client has nothing to read in it)."""
    return [part for part in content
            if not (isinstance(part, ReasoningPart) and part.redacted is not None)]


def _output_item(part: ContentPart, suffix: str, status: str) -> dict[str, Any]:
    item_status = "completed" if status == "completed" else "incomplete"
    if isinstance(part, ToolCallPart):
        return _call_item(f"fc_{suffix}", part.id, part.name, part.arguments, item_status)
    if isinstance(part, ReasoningPart):
        return _reasoning_item(f"rs_{suffix}", part.text, item_status)
    return _message_item(f"msg_{suffix}", part.text if isinstance(part, TextPart) else "",
                         item_status)


def _usage(finish: Finish) -> dict[str, Any]:
    return {"input_tokens": finish.input_tokens,
            "input_tokens_details": {"cached_tokens": finish.cached_input_tokens,
                                     "cache_write_tokens": finish.cache_write_tokens},
            "output_tokens": finish.output_tokens,
            "output_tokens_details": {"reasoning_tokens": finish.reasoning_tokens},
            "total_tokens": finish.input_tokens + finish.output_tokens,
            "cost_credits": finish.cost_credits}

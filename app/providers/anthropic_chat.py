"""Anthropic chat adapter on the official `anthropic` SDK (Messages API).

It translates the hub's `ChatRequest` into a messages body (`request_body`: system turns
become the `system` parameter, consecutive turns of one role are merged, as Anthropic wants
them alternating, and image parts become image blocks) and the vendor's stream into the hub's
events (`read_stream`: usage from `message_start`, input, and `message_delta`, cumulative
output); both are plain functions of data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import anthropic
import httpx2

from app.chat.events import OutputDelta, ReasoningDelta, TextDelta, ToolCallDelta, Usage
from app.chat.request import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from app.config.channels import ChannelConfig
from app.providers.base import ChatProvider
from app.providers.catalog import ModelSpec
from app.providers.errors import ProviderBadRequest, ProviderUnavailable
from app.providers.http_stream import StreamClient
from app.providers.sdk_errors import map_sdk_error


def build_client(channel: ChannelConfig, connect_timeout_s: float) -> anthropic.Anthropic:
    timeout_s = channel.timeout_s or 60.0
    return anthropic.Anthropic(api_key=channel.api_key, base_url=channel.base_url or None,
                               max_retries=0,
                               timeout=httpx2.Timeout(timeout_s, connect=min(connect_timeout_s,
                                                                             timeout_s)))


@contextmanager
def mapped_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # noqa: BLE001 — re-raised as the hub's error or unchanged
        mapped = map_sdk_error(exc, anthropic, "anthropic")
        if mapped is None:
            raise
        raise mapped from exc


def _cached(block: dict[str, Any], cache_control: dict[str, Any] | None) -> dict[str, Any]:
    return {**block, "cache_control": cache_control} if cache_control is not None else block


def _image_block(part: ImagePart) -> dict[str, Any]:
    if part.url.startswith("data:"):
        header, _, data = part.url.partition(",")
        media_type = header.removeprefix("data:").split(";")[0]
        source = {"type": "base64", "media_type": media_type, "data": data}
    else:
        source = {"type": "url", "url": part.url}
    return _cached({"type": "image", "source": source}, part.cache_control)


def _tool_input(arguments: str) -> Any:
    """A call's arguments as Anthropic's `input` object (arguments that are not a JSON
    object, which a model may have cut short, go as an empty one)."""
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _block(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return _cached({"type": "text", "text": part.text}, part.cache_control)
    if isinstance(part, ImagePart):
        return _image_block(part)
    if isinstance(part, ToolCallPart):
        return {"type": "tool_use", "id": part.id, "name": part.name,
                "input": _tool_input(part.arguments)}
    if isinstance(part, ToolResultPart):
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.tool_call_id}
        content = [_block(p) for p in part.content if not _empty_text(p)]
        if content:  # Anthropic refuses an empty text block; a result may have none
            block["content"] = content
        if part.is_error:
            block["is_error"] = True
        return _cached(block, part.cache_control)
    if part.redacted is not None:
        return {"type": "redacted_thinking", "data": part.redacted}
    return {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}


def _empty_text(part: ContentPart) -> bool:
    return isinstance(part, TextPart) and not part.text


def _blocks(message: Message) -> list[dict[str, Any]]:
    """A turn's blocks. Left out: reasoning without a signature (another vendor's), as
    Anthropic accepts back only its own signed thinking, and empty text beside other blocks
    (OpenAI clients send `content: ""` with tool calls; Anthropic refuses empty text)."""
    parts = [part for part in message.content
             if not (isinstance(part, ReasoningPart) and part.signature is None
                     and part.redacted is None)]
    if len(parts) > 1:
        parts = [part for part in parts if not _empty_text(part)] or parts[:1]
    return [_block(part) for part in parts]


def to_anthropic(messages: Iterable[Message]) -> tuple[str | list[dict[str, Any]],
                                                       list[dict[str, Any]]]:
    """The hub's messages → (system prompt, alternating user/assistant messages). A tool turn
    is a user turn of tool results; the system prompt is a string, or text blocks when any
    carries a cache breakpoint."""
    system_parts: list[TextPart] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.role
        if role in ("system", "developer"):
            system_parts.extend(p for p in message.content if isinstance(p, TextPart) and p.text)
            continue
        if role == "tool":
            role = "user"
        if role not in ("user", "assistant"):
            raise ProviderBadRequest(f"anthropic: unsupported message role {role!r}")
        blocks = _blocks(message)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if any(p.cache_control is not None for p in system_parts):
        return [_block(p) for p in system_parts], turns
    return "\n\n".join(p.text for p in system_parts), turns


def _tool_choice(request: ChatRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    if choice is None and request.parallel_tool_calls is not False:
        return None
    mode = choice.mode if choice is not None else "auto"
    body: dict[str, Any] = {"type": {"required": "any"}.get(mode, mode)}
    if mode == "tool":
        body["name"] = choice.name  # type: ignore[union-attr]
    if request.parallel_tool_calls is False and mode != "none":
        body["disable_parallel_tool_use"] = True
    return body


# OpenAI's reasoning effort as Anthropic's thinking budget, for a GPT-shaped request to Claude.
BUDGET_FOR_EFFORT = {"low": 1_024, "medium": 4_096, "high": 16_384, "xhigh": 32_768}
MIN_THINKING_BUDGET = 1_024


def thinking_budget(request: ChatRequest) -> int | None:
    """The thinking budget to ask for: the request's own, or its effort's; None when the
    request's `max_tokens` leaves no room for Anthropic's minimum budget."""
    budget = request.thinking_budget or BUDGET_FOR_EFFORT.get(request.reasoning_effort or "")
    if budget is None or request.max_tokens is None:
        return budget
    budget = min(budget, request.max_tokens - 1)
    return budget if budget >= MIN_THINKING_BUDGET else None


def request_body(request: ChatRequest) -> dict[str, Any]:
    """The messages body for a request, as the SDK takes it (sampling in `extra_body`).

    Thinking asked as OpenAI's effort (a GPT-shaped request) is asked only where Anthropic
    allows it: not with a forced tool choice, and without a sampling temperature or top_p."""
    system, messages = to_anthropic(request.messages)
    params: dict[str, Any] = {"model": request.model, "messages": messages,
                              "max_tokens": request.max_tokens}
    if system:
        params["system"] = system
    choice = _tool_choice(request)
    budget = thinking_budget(request)
    mapped = budget is not None and request.thinking_budget is None
    if mapped and choice is not None and choice["type"] in ("any", "tool"):
        budget = None
    # This SDK version no longer declares temperature/top_p; the API still takes them.
    sampling = {name: value for name, value in (("temperature", request.temperature),
                                                ("top_p", request.top_p))
                if value is not None and not (mapped and budget is not None)}
    if request.extra_format == "anthropic":
        sampling = {**request.extra, **sampling}
    if sampling:
        params["extra_body"] = sampling
    if request.stop:
        params["stop_sequences"] = list(request.stop)
    if request.tools:
        params["tools"] = [_cached({"name": tool.name, "input_schema": tool.parameters or {
            "type": "object"}, **({"description": tool.description} if tool.description
                                  else {})}, tool.cache_control) for tool in request.tools]
    if choice is not None and (request.tools or choice["type"] == "none"):
        params["tool_choice"] = choice
    if budget is not None:
        params["thinking"] = {"type": "enabled", "budget_tokens": budget}
    return params


def _usage_counts(usage: dict[str, Any]) -> tuple[int, int, int]:
    """(whole prompt, read from the cache, written to it) from Anthropic's usage, whose
    `input_tokens` leaves the cached parts out."""
    read = usage.get("cache_read_input_tokens") or 0
    written = usage.get("cache_creation_input_tokens") or 0
    return (usage.get("input_tokens") or 0) + read + written, read, written


CACHE_COUNTS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def _count(usage: dict[str, Any], name: str, default: int) -> int:
    value = usage.get(name)
    return default if value is None else value


def read_stream(events: Iterable[dict[str, Any]]) -> Iterator[OutputDelta | Usage]:
    """A messages stream's decoded events as output pieces, then one Usage. Raises
    ProviderUnavailable on an error event or a stream that ends before `message_stop`. Reads
    on after `message_stop` to the end of the body, so the connection is kept for the next
    request."""
    input_tokens, cached, written, output_tokens = 0, 0, 0, 0
    stop_reason, stopped = None, False
    tool_index: dict[int, int] = {}  # block index → the n-th tool call
    for event in events:
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            delta_type = delta.get("type")
            if delta_type == "text_delta":
                if delta.get("text"):
                    yield TextDelta(delta["text"])
            elif delta_type == "input_json_delta":
                index = tool_index.get(event.get("index"), 0)
                if delta.get("partial_json"):
                    yield ToolCallDelta(index=index, arguments=delta["partial_json"])
            elif delta_type == "thinking_delta":
                if delta.get("thinking"):
                    yield ReasoningDelta(delta["thinking"])
            elif delta_type == "signature_delta":
                yield ReasoningDelta("", signature=delta.get("signature") or "")
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                tool_index[event.get("index")] = len(tool_index)
                yield ToolCallDelta(index=tool_index[event.get("index")], id=block.get("id"),
                                    name=block.get("name"))
            elif block.get("type") == "redacted_thinking":
                yield ReasoningDelta("", redacted=block.get("data") or "")
        elif kind == "message_start":
            usage = (event.get("message") or {}).get("usage") or {}
            input_tokens, cached, written = _usage_counts(usage)
            output_tokens = usage.get("output_tokens") or 0
        elif kind == "message_delta":  # its counts are cumulative: they replace the start's
            stop_reason = (event.get("delta") or {}).get("stop_reason")
            usage = event.get("usage") or {}
            output_tokens = usage.get("output_tokens", output_tokens)
            if any(usage.get(name) is not None for name in CACHE_COUNTS):
                uncached = input_tokens - cached - written
                read = _count(usage, "cache_read_input_tokens", cached)
                wrote = _count(usage, "cache_creation_input_tokens", written)
                input_tokens = _count(usage, "input_tokens", uncached) + read + wrote
                cached, written = read, wrote
        elif kind == "message_stop":
            stopped = True
        elif kind == "error":
            error = event.get("error") or {}
            raise ProviderUnavailable(
                f"anthropic: {error.get('message') or 'an error occurred in the stream'}")
    if not stopped:
        raise ProviderUnavailable("anthropic: the stream ended before the reply finished")
    yield Usage(input_tokens=input_tokens, output_tokens=output_tokens, finish_reason=stop_reason,
                cached_input_tokens=cached, cache_write_tokens=written)


class AnthropicChat(ChatProvider):
    name = "anthropic"

    def __init__(self, client: anthropic.Anthropic) -> None:
        self.client = client
        self.streams = StreamClient(client, provider=self.name)

    def stream_chat(self, request: ChatRequest, spec: ModelSpec) -> Iterator[OutputDelta | Usage]:
        """Stream through `StreamClient` (the SDK client's address, key and headers; urllib3
        carries it); each event's `data:` line is decoded with `json.loads` (its `type` names the
        event) instead of building the SDK's typed event for every token."""
        params = request_body(request)
        body = {**params.pop("extra_body", {}), **params, "stream": True}
        with self.streams.events("/v1/messages", body) as events:
            yield from read_stream(events)

    def complete_chat(self, request: ChatRequest, spec: ModelSpec) -> tuple[str, Usage]:
        with mapped_errors():
            message = self.client.messages.create(**request_body(request))
        text = "".join(block.text for block in message.content if block.type == "text")
        input_tokens, cached, written = _usage_counts(message.usage.model_dump())
        return text, Usage(input_tokens=input_tokens, output_tokens=message.usage.output_tokens,
                           finish_reason=message.stop_reason, cached_input_tokens=cached,
                           cache_write_tokens=written)

    def count_input_tokens(self, request: ChatRequest, spec: ModelSpec,
                           timeout_s: float) -> int | None:
        params = request_body(request)
        params.pop("max_tokens")
        for name in ("extra_body", "stop_sequences", "tool_choice"):
            params.pop(name, None)
        with mapped_errors():
            client = self.client.with_options(timeout=timeout_s)
            return client.messages.count_tokens(**params).input_tokens

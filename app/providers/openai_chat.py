"""OpenAI chat adapter on the official `openai` SDK (any OpenAI-compatible server works).

It translates the hub's `ChatRequest` into a chat completions body (`request_body`) and the
vendor's stream into the hub's events (`read_stream`); both are plain functions of data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import openai

from app.chat.events import (
    LogprobsDelta,
    OutputDelta,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from app.chat.request import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from app.config.channels import ChannelConfig
from app.providers.base import ChatProvider
from app.providers.catalog import ModelSpec
from app.providers.errors import ProviderBadRequest, ProviderUnavailable
from app.providers.http_stream import StreamClient
from app.providers.sdk_errors import map_sdk_error


def build_client(channel: ChannelConfig, connect_timeout_s: float) -> openai.OpenAI:
    """One client per channel (thread-safe, pooled); the router does the retrying."""
    timeout_s = channel.timeout_s or 60.0
    return openai.OpenAI(api_key=channel.api_key, base_url=channel.base_url or None,
                         organization=channel.organization or None, max_retries=0,
                         timeout=httpx2.Timeout(timeout_s, connect=min(connect_timeout_s,
                                                                       timeout_s)))


@contextmanager
def mapped_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # noqa: BLE001 — re-raised as the hub's error or unchanged
        mapped = map_sdk_error(exc, openai, "openai")
        if mapped is None:
            raise
        raise mapped from exc


def _part(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        image = {"url": part.url, **({"detail": part.detail} if part.detail else {})}
        return {"type": "image_url", "image_url": image}
    raise ProviderBadRequest(f"openai: a {part.type} part cannot go in a message's content")


def _content(content: tuple[ContentPart, ...]) -> str | list[dict[str, Any]]:
    if len(content) == 1 and isinstance(content[0], TextPart):
        return content[0].text
    return [_part(part) for part in content]


def _messages(message: Message) -> list[dict[str, Any]]:
    """One hub message as chat completions messages: an assistant turn's tool calls go in
    `tool_calls`, each tool result is a `tool` message of its own, reasoning from an earlier
    turn is left out (chat completions takes none back)."""
    if message.role == "assistant":
        calls = [part for part in message.content if isinstance(part, ToolCallPart)]
        shown = tuple(part for part in message.content if isinstance(part, TextPart | ImagePart))
        body: dict[str, Any] = {"role": "assistant",
                                "content": _content(shown) if shown else None}
        if calls:
            body["tool_calls"] = [{"id": call.id, "type": "function", "function": {
                "name": call.name, "arguments": call.arguments}} for call in calls]
        if message.name:
            body["name"] = message.name
        return [body]
    results = [part for part in message.content if isinstance(part, ToolResultPart)]
    rest = tuple(part for part in message.content if not isinstance(part, ToolResultPart))
    out: list[dict[str, Any]] = [{"role": "tool", "tool_call_id": result.tool_call_id,
                                  "content": result.text} for result in results]
    images = tuple(part for result in results for part in result.content
                   if isinstance(part, ImagePart))
    if images:  # a tool message takes text only: the results' images follow as a user turn
        rest = images + rest
    if rest or not results:
        body = {"role": "user" if message.role == "tool" else message.role,
                "content": _content(rest)}
        if message.name:
            body["name"] = message.name
        out.append(body)
    return out


def _tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


# Anthropic's thinking budget as OpenAI's effort, for a Claude-shaped request to a GPT model.
EFFORT_FOR_BUDGET = ((4_096, "low"), (16_384, "medium"))


def reasoning_effort(request: ChatRequest) -> str | None:
    if request.reasoning_effort is not None or not request.thinking_budget:
        return request.reasoning_effort
    return next((effort for budget, effort in EFFORT_FOR_BUDGET
                 if request.thinking_budget <= budget), "high")


def request_body(request: ChatRequest, spec: ModelSpec) -> dict[str, Any]:
    """The chat completions body for a request (the model's name for `max_tokens`)."""
    params: dict[str, Any] = {"model": request.model,
                              "messages": [body for m in request.messages
                                           for body in _messages(m)],
                              spec.max_tokens_param: request.max_tokens}
    if request.extra_format == "openai":
        params = {**request.extra, **params}
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.top_p is not None:
        params["top_p"] = request.top_p
    if request.stop:
        params["stop"] = list(request.stop)
    if request.tools:
        params["tools"] = [{"type": "function", "function": {
            "name": tool.name, "parameters": tool.parameters,
            **({"description": tool.description} if tool.description else {}),
            **({"strict": tool.strict} if tool.strict is not None else {})}}
            for tool in request.tools]
        if request.parallel_tool_calls is not None:
            params["parallel_tool_calls"] = request.parallel_tool_calls
    if request.tool_choice is not None and request.tools:
        params["tool_choice"] = _tool_choice(request.tool_choice)
    if request.response_format is not None:
        params["response_format"] = request.response_format
    effort = reasoning_effort(request)
    if effort is not None:
        params["reasoning_effort"] = effort
    if request.n != 1:
        params["n"] = request.n
    return params


def _usage(usage: dict[str, Any], finish_reason: str | None) -> Usage:
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return Usage(input_tokens=usage.get("prompt_tokens") or 0,
                 output_tokens=usage.get("completion_tokens") or 0,
                 finish_reason=finish_reason,
                 cached_input_tokens=prompt.get("cached_tokens") or 0,
                 cache_write_tokens=prompt.get("cache_write_tokens") or 0,
                 reasoning_tokens=completion.get("reasoning_tokens") or 0)


def _choice_pieces(choice: dict[str, Any]) -> Iterator[OutputDelta]:
    """A streamed choice's delta as pieces (reasoning as OpenAI-compatible servers send it,
    `reasoning_content` or `reasoning`)."""
    index = choice.get("index") or 0
    delta = choice.get("delta") or {}
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        yield ReasoningDelta(reasoning, choice=index)
    content = delta.get("content")
    if content:
        yield TextDelta(content, choice=index)
    logprobs = (choice.get("logprobs") or {}).get("content")
    if logprobs:
        yield LogprobsDelta(tuple(logprobs), choice=index)
    for call in delta.get("tool_calls") or ():
        function = call.get("function") or {}
        yield ToolCallDelta(index=call.get("index") or 0, arguments=function.get("arguments") or "",
                            id=call.get("id"), name=function.get("name"), choice=index)


PLAIN_KEYS = frozenset({"role", "content", "refusal"})  # a delta of text only


def read_stream(chunks: Iterable[dict[str, Any]]) -> Iterator[OutputDelta | Usage]:
    """A chat completions stream's decoded chunks as output pieces, then one Usage (when the
    stream reported it). Raises ProviderUnavailable on an error chunk or a stream that ends
    before a choice finished."""
    finish_reason, usage = None, None
    for chunk in chunks:
        if chunk.get("error"):
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else None
            raise ProviderUnavailable(f"openai: {message or 'an error occurred during streaming'}")
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content and delta.keys() <= PLAIN_KEYS and not choice.get("index") \
                    and not choice.get("logprobs"):  # plain text: nearly every chunk
                yield TextDelta(content)
            elif delta or choice.get("logprobs"):
                yield from _choice_pieces(choice)
            if choice.get("finish_reason") and (finish_reason is None or not choice.get("index")):
                finish_reason = choice["finish_reason"]
        if chunk.get("usage"):
            usage = chunk["usage"]
    if finish_reason is None:
        raise ProviderUnavailable("openai: the stream ended before the reply finished")
    if usage is not None:
        yield _usage(usage, finish_reason)


class OpenAIChat(ChatProvider):
    name = "openai"

    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client
        self.streams = StreamClient(client, provider=self.name)

    def stream_chat(self, request: ChatRequest, spec: ModelSpec) -> Iterator[OutputDelta | Usage]:
        """Stream through `StreamClient` (the SDK client's address, key and headers; urllib3
        carries it), each `data:` line decoded with `json.loads`. Through the SDK, opening and
        reading one 50-chunk stream cost more CPU than the rest of the hub's hot path."""
        body = {**request_body(request, spec), "stream": True,
                "stream_options": {"include_usage": True}}
        with self.streams.events("/chat/completions", body) as chunks:
            yield from read_stream(chunks)

    def complete_chat(self, request: ChatRequest, spec: ModelSpec) -> tuple[str, Usage]:
        with mapped_errors():
            completion = self.client.chat.completions.create(**request_body(request, spec))
        if not completion.choices:
            raise ProviderUnavailable("openai: the reply had no choices")
        choice = completion.choices[0]
        usage = completion.usage
        return choice.message.content or "", _usage(
            usage.model_dump() if usage else {}, choice.finish_reason)

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

from app.chat.events import TextDelta, Usage
from app.chat.request import ChatRequest, ContentPart, Message, TextPart
from app.config.channels import ChannelConfig
from app.providers.base import ChatProvider
from app.providers.catalog import ModelSpec
from app.providers.errors import ProviderUnavailable
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


def _content(content: tuple[ContentPart, ...]) -> str | list[dict[str, Any]]:
    if len(content) == 1 and isinstance(content[0], TextPart):
        return content[0].text
    return [{"type": "text", "text": part.text} if isinstance(part, TextPart)
            else {"type": "image_url", "image_url": {"url": part.url}} for part in content]


def _message(message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {"role": message.role, "content": _content(message.content)}
    if message.name:
        body["name"] = message.name
    return body


def request_body(request: ChatRequest, spec: ModelSpec) -> dict[str, Any]:
    """The chat completions body for a request (the model's name for `max_tokens`)."""
    params: dict[str, Any] = {"model": request.model,
                              "messages": [_message(m) for m in request.messages],
                              spec.max_tokens_param: request.max_tokens}
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.top_p is not None:
        params["top_p"] = request.top_p
    if request.stop:
        params["stop"] = list(request.stop)
    return params


def read_stream(chunks: Iterable[dict[str, Any]]) -> Iterator[TextDelta | Usage]:
    """A chat completions stream's decoded chunks as text deltas, then one Usage (when the
    stream reported it). Raises ProviderUnavailable on an error chunk or a stream that ends
    before a choice finished."""
    finish_reason, usage = None, None
    for chunk in chunks:
        if chunk.get("error"):
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else None
            raise ProviderUnavailable(f"openai: {message or 'an error occurred during streaming'}")
        for choice in chunk.get("choices") or ():
            content = (choice.get("delta") or {}).get("content")
            if content:
                yield TextDelta(content)
            if choice.get("finish_reason"):
                finish_reason = choice["finish_reason"]
        if chunk.get("usage"):
            usage = chunk["usage"]
    if finish_reason is None:
        raise ProviderUnavailable("openai: the stream ended before the reply finished")
    if usage is not None:
        yield Usage(input_tokens=usage.get("prompt_tokens") or 0,
                    output_tokens=usage.get("completion_tokens") or 0,
                    finish_reason=finish_reason)


class OpenAIChat(ChatProvider):
    name = "openai"

    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client
        self.streams = StreamClient(client, provider=self.name)

    def stream_chat(self, request: ChatRequest, spec: ModelSpec) -> Iterator[TextDelta | Usage]:
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
        return choice.message.content or "", Usage(
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            finish_reason=choice.finish_reason)

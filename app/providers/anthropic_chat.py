"""Anthropic chat adapter on the official `anthropic` SDK (Messages API).

It translates the hub's `ChatRequest` into a messages body (`request_body`: system turns
become the `system` parameter, consecutive turns of one role are merged, as Anthropic wants
them alternating, and image parts become image blocks) and the vendor's stream into the hub's
events (`read_stream`: usage from `message_start`, input, and `message_delta`, cumulative
output); both are plain functions of data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import anthropic
import httpx2

from app.chat.events import TextDelta, Usage
from app.chat.request import ChatRequest, ContentPart, ImagePart, Message, TextPart
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


def _image_block(part: ImagePart) -> dict[str, Any]:
    if part.url.startswith("data:"):
        header, _, data = part.url.partition(",")
        media_type = header.removeprefix("data:").split(";")[0]
        return {"type": "image", "source": {"type": "base64", "media_type": media_type,
                                            "data": data}}
    return {"type": "image", "source": {"type": "url", "url": part.url}}


def _blocks(content: tuple[ContentPart, ...]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": part.text} if isinstance(part, TextPart)
            else _image_block(part) for part in content]


def to_anthropic(messages: Iterable[Message]) -> tuple[str, list[dict[str, Any]]]:
    """The hub's messages → (system prompt, alternating user/assistant messages)."""
    system_parts: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.role
        if role in ("system", "developer"):
            system_parts.append(message.text)
            continue
        if role not in ("user", "assistant"):
            raise ProviderBadRequest(f"anthropic: unsupported message role {role!r}")
        blocks = _blocks(message.content)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return "\n\n".join(p for p in system_parts if p), turns


def request_body(request: ChatRequest) -> dict[str, Any]:
    """The messages body for a request, as the SDK takes it (sampling in `extra_body`)."""
    system, messages = to_anthropic(request.messages)
    params: dict[str, Any] = {"model": request.model, "messages": messages,
                              "max_tokens": request.max_tokens}
    if system:
        params["system"] = system
    # This SDK version no longer declares temperature/top_p; the API still takes them.
    sampling = {name: value for name, value in (("temperature", request.temperature),
                                                ("top_p", request.top_p))
                if value is not None}
    if sampling:
        params["extra_body"] = sampling
    if request.stop:
        params["stop_sequences"] = list(request.stop)
    return params


def read_stream(events: Iterable[dict[str, Any]]) -> Iterator[TextDelta | Usage]:
    """A messages stream's decoded events as text deltas, then one Usage. Raises
    ProviderUnavailable on an error event or a stream that ends before `message_stop`. Reads
    on after `message_stop` to the end of the body, so the connection is kept for the next
    request."""
    input_tokens, output_tokens, stop_reason, stopped = 0, 0, None, False
    for event in events:
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                yield TextDelta(delta["text"])
        elif kind == "message_start":
            usage = (event.get("message") or {}).get("usage") or {}
            input_tokens = sum(usage.get(name) or 0 for name in (
                "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
            output_tokens = usage.get("output_tokens") or 0
        elif kind == "message_delta":
            stop_reason = (event.get("delta") or {}).get("stop_reason")
            output_tokens = (event.get("usage") or {}).get("output_tokens", output_tokens)
        elif kind == "message_stop":
            stopped = True
        elif kind == "error":
            error = event.get("error") or {}
            raise ProviderUnavailable(
                f"anthropic: {error.get('message') or 'an error occurred in the stream'}")
    if not stopped:
        raise ProviderUnavailable("anthropic: the stream ended before the reply finished")
    yield Usage(input_tokens=input_tokens, output_tokens=output_tokens, finish_reason=stop_reason)


class AnthropicChat(ChatProvider):
    name = "anthropic"

    def __init__(self, client: anthropic.Anthropic) -> None:
        self.client = client
        self.streams = StreamClient(client, provider=self.name)

    def stream_chat(self, request: ChatRequest, spec: ModelSpec) -> Iterator[TextDelta | Usage]:
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
        usage = message.usage
        return text, Usage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                           finish_reason=message.stop_reason)

    def count_input_tokens(self, request: ChatRequest, spec: ModelSpec,
                           timeout_s: float) -> int | None:
        params = request_body(request)
        params.pop("max_tokens")
        for name in ("extra_body", "stop_sequences"):
            params.pop(name, None)
        with mapped_errors():
            client = self.client.with_options(timeout=timeout_s)
            return client.messages.count_tokens(**params).input_tokens

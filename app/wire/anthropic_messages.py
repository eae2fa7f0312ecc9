"""Anthropic's messages format, as the hub's `/v1/messages` speaks it.

In: `parse_request` (the top-level `system` becomes the first, system, turn; the turns
themselves are user or assistant). Out: `MessagesWriter`, the `message_start` …
`message_stop` events or the one `message` body, with the hub's `cost_credits` in `usage`.
"""

from __future__ import annotations

import json
from typing import Any

from app.chat.events import ChatError, Finish, FinishReason, Reply
from app.chat.request import ChatRequest, Message
from app.wire.base import InvalidRequest, content_parts, number, positive_int, stop_list

STOP_REASONS = {FinishReason.STOP: "end_turn", FinishReason.LENGTH: "max_tokens"}


def parse_request(body: dict[str, Any]) -> ChatRequest:
    """A messages body as the hub's request; `InvalidRequest` names the first fault."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: required")
    max_tokens = positive_int(body, "max_tokens", required=True)
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest("messages: a non-empty list is required")
    messages = []
    if body.get("system") is not None:
        messages.append(Message(role="system", content=content_parts(body["system"], "system")))
    for i, message in enumerate(raw):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{i}.role: must be user or assistant")
        messages.append(Message(role=role, content=content_parts(
            message.get("content"), f"messages.{i}.content")))
    temperature = number(body, "temperature", 0, 1)
    top_p = number(body, "top_p", 0, 1)
    stop = stop_list(body.get("stop_sequences"), "stop_sequences")
    return ChatRequest(model=model, messages=tuple(messages), max_tokens=max_tokens,
                       temperature=temperature, top_p=top_p, stop=stop,
                       stream=body.get("stream") is True)


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data}, separators=(',', ':'))}\n\n"


class MessagesWriter:
    """One reply (`reply_id`: the job's id) as message events or one body. `input_tokens`:
    the prompt's count as the hold was sized, for `message_start` (the charge comes at the
    end)."""

    def __init__(self, reply_id: str, model: str, *, input_tokens: int = 0) -> None:
        self.id, self.model, self.input_tokens = f"msg_{reply_id}", model, input_tokens

    _TEXT_HEAD = ('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
                  '"delta":{"type":"text_delta","text":')
    _TEXT_TAIL = "}}\n\n"

    def _message(self, content: list, stop_reason: str | None,
                 usage: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": content, "stop_reason": stop_reason, "stop_sequence": None,
                "usage": usage}

    def start(self) -> list[str]:
        return [_event("message_start", {"message": self._message(
                    [], None, {"input_tokens": self.input_tokens, "output_tokens": 0})}),
                _event("content_block_start",
                       {"index": 0, "content_block": {"type": "text", "text": ""}})]

    def text(self, text: str) -> str:
        return self._TEXT_HEAD + json.dumps(text) + self._TEXT_TAIL

    def error(self, error: ChatError) -> str:
        return _event("error", {"error": {"type": "api_error", "message": error.message}})

    def finish(self, finish: Finish) -> list[str]:
        return [_event("content_block_stop", {"index": 0}),
                _event("message_delta", {
                    "delta": {"stop_reason": STOP_REASONS[finish.reason], "stop_sequence": None},
                    "usage": {"output_tokens": finish.output_tokens,
                              "input_tokens": finish.input_tokens,
                              "cost_credits": finish.cost_credits}}),
                _event("message_stop", {})]

    def close(self) -> list[str]:
        return []

    def body(self, reply: Reply) -> dict[str, Any]:
        return self._message([{"type": "text", "text": reply.text}],
                             STOP_REASONS[reply.finish.reason],
                             {"input_tokens": reply.finish.input_tokens,
                              "output_tokens": reply.finish.output_tokens,
                              "cost_credits": reply.finish.cost_credits})

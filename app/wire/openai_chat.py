"""OpenAI's chat completions format, as the hub's `/v1/chat/completions` speaks it.

In: `parse_request` (system and developer turns are both system turns; one choice; no
tools yet). Out: `ChatCompletionWriter`, the `chat.completion.chunk` frames ending in
`data: [DONE]` or the one `chat.completion` body, with the hub's `cost_credits` in `usage`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from app.chat.events import ChatError, Finish, FinishReason, Reply
from app.chat.request import ChatRequest, Message
from app.wire.base import InvalidRequest, content_parts, number, positive_int, stop_list

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
FINISH_REASONS = {FinishReason.STOP: "stop", FinishReason.LENGTH: "length"}


def parse_request(body: dict[str, Any]) -> ChatRequest:
    """A chat completions body as the hub's request; `InvalidRequest` names the first fault."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: required")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise InvalidRequest("messages: a non-empty list is required")
    messages = []
    for i, message in enumerate(raw_messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES:
            raise InvalidRequest(f"messages[{i}].role: must be one of {', '.join(ROLES)}")
        messages.append(Message(role=ROLES[role], content=content_parts(
            message.get("content"), f"messages[{i}].content")))
    if body.get("n", 1) != 1:
        raise InvalidRequest("n: only 1 is supported")
    if body.get("tools") or body.get("functions"):
        raise InvalidRequest("tools: tool calling is not supported")
    max_tokens = positive_int(body, "max_completion_tokens") or positive_int(body, "max_tokens")
    temperature = number(body, "temperature", 0, 2)
    top_p = number(body, "top_p", 0, 1)
    stop = stop_list(body.get("stop"), "stop")
    stream = body.get("stream") is True
    options = body.get("stream_options") or {}
    return ChatRequest(model=model, messages=tuple(messages), max_tokens=max_tokens,
                       temperature=temperature, top_p=top_p, stop=stop, stream=stream,
                       include_usage=stream and isinstance(options, dict)
                       and options.get("include_usage") is True)


def openai_finish_reason(provider_reason: str | None) -> str | None:
    """A provider's finish reason in OpenAI's vocabulary."""
    if provider_reason is None:
        return None
    return FINISH_REASONS[FinishReason.of(provider_reason)]


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class ChatCompletionWriter:
    """One reply (`reply_id`: the job's id) as chat completion chunks or one body."""

    def __init__(self, reply_id: str, model: str, *, include_usage: bool = False,
                 created: int | None = None) -> None:
        self.id, self.model, self.include_usage = f"chatcmpl-{reply_id}", model, include_usage
        self.created = int(time.time()) if created is None else created
        # a text chunk is this head, the text as JSON, and the tail
        self._text_head = (f'data: {{"id":{_compact(self.id)},"object":"chat.completion.chunk",'
                           f'"created":{self.created},"model":{_compact(model)},'
                           f'"choices":[{{"index":0,"delta":{{"content":')
        self._text_tail = '},"finish_reason":null}]}\n\n'

    def _chunk(self, delta: dict, finish: str | None, usage: dict | None = None,
               choices: bool = True) -> str:
        body: dict[str, Any] = {"id": self.id, "object": "chat.completion.chunk",
                                "created": self.created, "model": self.model,
                                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
                                if choices else []}
        if usage is not None:
            body["usage"] = usage
        return f"data: {_compact(body)}\n\n"

    def start(self) -> list[str]:
        return [self._chunk({"role": "assistant", "content": ""}, None)]

    def text(self, text: str) -> str:
        return self._text_head + json.dumps(text) + self._text_tail

    def error(self, error: ChatError) -> str:
        body = {"error": {"message": error.message, "type": "server_error", "param": None,
                          "code": error.code}}
        return f"data: {json.dumps(body)}\n\n"

    def finish(self, finish: Finish) -> list[str]:
        frames = [self._chunk({}, FINISH_REASONS[finish.reason])]
        if self.include_usage:
            frames.append(self._chunk({}, None, _usage(finish), choices=False))
        return frames

    def close(self) -> list[str]:
        return ["data: [DONE]\n\n"]

    def body(self, reply: Reply) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion", "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text},
                             "finish_reason": FINISH_REASONS[reply.finish.reason]}],
                "usage": _usage(reply.finish)}


def _usage(finish: Finish) -> dict[str, int]:
    return {"prompt_tokens": finish.input_tokens, "completion_tokens": finish.output_tokens,
            "total_tokens": finish.input_tokens + finish.output_tokens,
            "cost_credits": finish.cost_credits}

"""OpenAI `POST /v1/responses` for the fake upstream: a reference Responses API.

The reply is the same as chat completions' (WORDS chunks, or function calls with the same
choice rules); streamed as the documented named events, each with a `sequence_number`, and no
`[DONE]`.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.fake_upstream import replies
from tests.fake_upstream.plumbing import Plumbing

if TYPE_CHECKING:
    from tests.fake_upstream.server import FakeUpstream


@dataclass
class OutputItem:
    """One output item in its final form, and the pieces its text or arguments stream in."""

    final: dict
    pieces: list[str]


def input_messages(body: dict) -> list[dict]:
    """`input` as chat-like messages: a string is one user message; items without a role
    (function_call, function_call_output) count the words of their output or arguments."""
    raw = body.get("input")
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    messages = []
    for item in raw or []:
        if "role" in item:
            messages.append(item)
        else:
            messages.append({"role": item.get("type", ""),
                             "content": str(item.get("output") or item.get("arguments") or "")})
    return messages


def tool_names(body: dict, messages: list[dict]) -> list[str]:
    """The function tools the reply calls; empty when it should answer with text."""
    tools = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    choice = body.get("tool_choice")
    if not tools or choice == "none" or (messages and messages[-1]["role"] == "function_call_output"):
        return []
    named = choice.get("name") if isinstance(choice, dict) and choice.get("type") == "function" \
        else None
    return replies.called_tools(tools, named, body.get("parallel_tool_calls") is not False)


def plan_output(body: dict, messages: list[dict], fake: FakeUpstream) -> list[OutputItem]:
    names = tool_names(body, messages)
    if not names:
        text = fake.reply_text()
        return [OutputItem({"id": replies.new_id("msg_"), "type": "message",
                            "status": "completed", "role": "assistant",
                            "content": [{"type": "output_text", "text": text,
                                         "annotations": [], "logprobs": []}]},
                           fake.chunks())]
    arguments = replies.tool_arguments(messages)
    return [OutputItem({"id": replies.new_id("fc_"), "type": "function_call",
                        "status": "completed", "call_id": replies.new_id("call_"),
                        "name": name, "arguments": arguments},
                       replies.split_in(arguments, replies.ARGUMENT_PIECES))
            for name in names]


def usage_of(input_tokens: int, output: list[OutputItem], fake: FakeUpstream) -> dict[str, Any]:
    output_tokens = sum(len(item.pieces) for item in output)
    return {"input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": min(fake.cached_tokens, input_tokens)},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens}


def response_object(body: dict, head: dict, status: str, output: list[dict],
                    usage: dict | None) -> dict:
    return {**head, "object": "response", "status": status, "model": body["model"],
            "output": output, "error": None, "incomplete_details": None,
            "instructions": body.get("instructions"), "metadata": body.get("metadata") or {},
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "temperature": body.get("temperature"), "top_p": body.get("top_p"),
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
            "max_output_tokens": body.get("max_output_tokens"),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "text": {"format": {"type": "text"}}, "truncation": "disabled", "usage": usage}


class ResponsesRoute(Plumbing):
    """The Responses API route of the fake's request handler."""

    def _responses(self, body: dict) -> None:
        fault = self._pre("responses", False)
        if fault and fault.kind == "status":
            return
        messages = input_messages(body)
        output = plan_output(body, messages, self.fake)
        usage = usage_of(replies.input_tokens(messages, body.get("instructions")), output,
                         self.fake)
        head = {"id": replies.new_id("resp_"), "created_at": int(time.time())}
        done = response_object(body, head, "completed", [i.final for i in output], usage)
        if not body.get("stream"):
            self._json(200, done)
            return
        self._start_stream()
        sequence = itertools.count()

        def event(name: str, data: dict) -> None:
            payload = {"type": name, **data, "sequence_number": next(sequence)}
            self._chunk(f"event: {name}\ndata: {json.dumps(payload)}\n\n")

        started = response_object(body, head, "in_progress", [], None)
        event("response.created", {"response": started})
        event("response.in_progress", {"response": started})
        sent = 0
        for index, item in enumerate(output):
            last = index == len(output) - 1
            if item.final["type"] == "message":
                sent = self._stream_message(event, index, item, fault, sent, last)
            else:
                sent = self._stream_call(event, index, item, fault, sent, last)
            if sent < 0:
                return
            event("response.output_item.done", {"output_index": index, "item": item.final})
        event("response.completed", {"response": done})
        self._end_stream()

    def _stream_pieces(self, event: Any, name: str, where: dict, item: OutputItem,
                       fault: Any, sent: int, last: bool) -> int:
        """Stream the item's pieces as `name` events; -1 when a fault ended the stream."""
        for piece in item.pieces:
            if self._stream_fault(fault, sent, "responses"):
                return -1
            self._pace(sent)
            extra = {"logprobs": []} if name == "response.output_text.delta" else {}
            event(name, {**where, "delta": piece, **extra})
            sent += 1
        if last and self._stream_fault(fault, sent, "responses"):
            return -1
        return sent

    def _stream_message(self, event: Any, index: int, item: OutputItem, fault: Any, sent: int,
                        last: bool) -> int:
        item_id = item.final["id"]
        event("response.output_item.added", {"output_index": index, "item": {
            **item.final, "status": "in_progress", "content": []}})
        part = item.final["content"][0]
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        event("response.content_part.added", {**where, "part": {**part, "text": ""}})
        sent = self._stream_pieces(event, "response.output_text.delta", where, item, fault,
                                   sent, last)
        if sent >= 0:
            event("response.output_text.done", {**where, "text": part["text"], "logprobs": []})
            event("response.content_part.done", {**where, "part": part})
        return sent

    def _stream_call(self, event: Any, index: int, item: OutputItem, fault: Any, sent: int,
                     last: bool) -> int:
        event("response.output_item.added", {"output_index": index, "item": {
            **item.final, "status": "in_progress", "arguments": ""}})
        where = {"item_id": item.final["id"], "output_index": index}
        sent = self._stream_pieces(event, "response.function_call_arguments.delta", where, item,
                                   fault, sent, last)
        if sent >= 0:
            event("response.function_call_arguments.done", {
                **where, "name": item.final["name"], "arguments": item.final["arguments"]})
        return sent

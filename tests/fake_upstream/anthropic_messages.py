"""Anthropic `POST /v1/messages` for the fake upstream: text, thinking and tool_use blocks.

A reply is planned as a list of content blocks, each with the deltas that stream it and its
final form; the non-streamed body is the final forms, so both shapes always agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.fake_upstream import replies
from tests.fake_upstream.plumbing import Plumbing

if TYPE_CHECKING:
    from tests.fake_upstream.server import FakeUpstream


@dataclass
class Block:
    """One content block: how content_block_start shows it, its deltas, its final form."""

    start: dict
    deltas: list[dict]
    final: dict
    output_tokens: int


def tool_name(body: dict) -> str | None:
    """The tool the reply calls, or None when it should answer with text."""
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or {}
    if not tools or choice.get("type") == "none" or _has_tool_result(body["messages"]):
        return None
    named = choice.get("name") if choice.get("type") == "tool" else None
    return replies.called_tools(tools, named, parallel=False)[0]


def _has_tool_result(messages: list[dict]) -> bool:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return isinstance(content, list) and any(
                isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    return False


def text_block(pieces: list[str]) -> Block:
    return Block({"type": "text", "text": ""},
                 [{"type": "text_delta", "text": piece} for piece in pieces],
                 {"type": "text", "text": "".join(pieces)}, len(pieces))


def thinking_block() -> Block:
    signature = replies.new_id("sig-")
    deltas = [{"type": "thinking_delta", "thinking": piece} for piece in replies.THINKING]
    return Block({"type": "thinking", "thinking": "", "signature": ""},
                 [*deltas, {"type": "signature_delta", "signature": signature}],
                 {"type": "thinking", "thinking": "".join(replies.THINKING),
                  "signature": signature}, len(deltas))


def tool_use_block(name: str, messages: list[dict]) -> Block:
    head = {"type": "tool_use", "id": replies.new_id("toolu_"), "name": name}
    arguments = replies.tool_arguments(messages)
    pieces = replies.split_in(arguments, replies.ARGUMENT_PIECES)
    return Block({**head, "input": {}},
                 [{"type": "input_json_delta", "partial_json": piece} for piece in pieces],
                 {**head, "input": json.loads(arguments)}, len(pieces))


def plan_blocks(body: dict, fake: FakeUpstream) -> tuple[list[Block], str]:
    """The reply's blocks and its stop_reason."""
    thinking = (body.get("thinking") or {}).get("type") == "enabled"
    blocks = [thinking_block()] if thinking else []
    name = tool_name(body)
    if name is None:
        return [*blocks, text_block(fake.chunks())], "end_turn"
    return [*blocks, text_block([replies.TOOL_PREAMBLE]),
            tool_use_block(name, body["messages"])], "tool_use"


def usage_of(input_tokens: int, output_tokens: int, fake: FakeUpstream) -> dict[str, Any]:
    usage: dict[str, Any] = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    if fake.cache_read_tokens or fake.cache_write_tokens:
        usage["cache_creation_input_tokens"] = fake.cache_write_tokens
        usage["cache_read_input_tokens"] = fake.cache_read_tokens
    return usage


class MessagesRoute(Plumbing):
    """The Anthropic messages route of the fake's request handler."""

    def _messages(self, body: dict) -> None:
        fault = self._pre("messages", True)
        if fault and fault.kind == "status":
            return
        fake = self.fake
        input_tokens = replies.input_tokens(body["messages"], body.get("system"))
        blocks, stop_reason = plan_blocks(body, fake)
        output_tokens = sum(block.output_tokens for block in blocks)
        message_id = replies.new_id("msg_")
        if not body.get("stream"):
            self._json(200, {"id": message_id, "type": "message", "role": "assistant",
                             "model": body["model"], "stop_reason": stop_reason,
                             "stop_sequence": None,
                             "content": [block.final for block in blocks],
                             "usage": usage_of(input_tokens, output_tokens, fake)})
            return
        self._start_stream()

        def event(name: str, data: dict) -> None:
            self._chunk(f"event: {name}\ndata: {json.dumps(data)}\n\n")

        event("message_start", {"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": body["model"],
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": usage_of(input_tokens, 1, fake)}})
        sent = 0
        for index, block in enumerate(blocks):
            event("content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": block.start})
            if index == 0:
                event("ping", {"type": "ping"})
            for delta in block.deltas:
                if self._stream_fault(fault, sent, "anthropic"):
                    return
                self._pace(sent, first_delay=False)
                event("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": delta})
                sent += 1
            if index == len(blocks) - 1 and self._stream_fault(fault, sent, "anthropic"):
                return
            event("content_block_stop", {"type": "content_block_stop", "index": index})
        event("message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                "usage": {"output_tokens": output_tokens}})
        event("message_stop", {"type": "message_stop"})
        self._end_stream()

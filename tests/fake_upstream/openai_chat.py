"""OpenAI `POST /v1/chat/completions` for the fake upstream: text, tools, reasoning, n, logprobs.

A reply is planned once per choice as the list of deltas the stream carries after the role
chunk; the non-streamed message is built from the same plan, so both shapes always agree.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fake_upstream import replies
from tests.fake_upstream.plumbing import Plumbing

if TYPE_CHECKING:
    from tests.fake_upstream.server import FakeUpstream


@dataclass
class ChatPlan:
    """One choice's reply: what is streamed after the role chunk, and the whole message."""

    role_delta: dict
    deltas: list[dict] = field(default_factory=list)
    logprobs: list[dict | None] = field(default_factory=list)
    message: dict = field(default_factory=dict)
    finish_reason: str = "stop"
    completion_tokens: int = 0
    reasoning_tokens: int = 0


def tool_names(body: dict) -> list[str]:
    """The tools the reply calls; empty when it should answer with text."""
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    messages = body["messages"]
    if not tools or choice == "none" or (messages and messages[-1].get("role") == "tool"):
        return []
    named = (choice.get("function") or {}).get("name") \
        if isinstance(choice, dict) and choice.get("type") == "function" else None
    return replies.called_tools(tools, named, body.get("parallel_tool_calls") is not False)


def reply_texts(body: dict, fake: FakeUpstream) -> list[str]:
    """The content chunks: WORDS, or `{"answer": ...}` in as many pieces for a JSON format."""
    kind = (body.get("response_format") or {}).get("type")
    if kind in ("json_object", "json_schema"):
        return replies.split_in(json.dumps({"answer": fake.reply_text()}), fake.chunk_count)
    return fake.chunks()


def plan_choice(body: dict, fake: FakeUpstream) -> ChatPlan:
    reasoning = body.get("reasoning_effort") not in (None, "none")
    plan = ChatPlan(role_delta={"role": "assistant", "content": ""},
                    message={"role": "assistant", "content": None})
    if reasoning:
        plan.deltas += [{"reasoning_content": piece} for piece in replies.THINKING]
        plan.logprobs += [None] * len(replies.THINKING)
        plan.message["reasoning_content"] = "".join(replies.THINKING)
        plan.reasoning_tokens = len(replies.THINKING)
    names = tool_names(body)
    if names:
        _plan_tool_calls(plan, names, replies.tool_arguments(body["messages"]))
    else:
        texts = reply_texts(body, fake)
        plan.deltas += [{"content": text} for text in texts]
        wants_logprobs = bool(body.get("logprobs"))
        plan.logprobs += [{"content": [replies.logprob(t)]} if wants_logprobs else None
                          for t in texts]
        plan.message["content"] = "".join(texts)
        plan.completion_tokens = len(texts)
    plan.completion_tokens += plan.reasoning_tokens
    return plan


def _plan_tool_calls(plan: ChatPlan, names: list[str], arguments: str) -> None:
    plan.role_delta = {"role": "assistant", "content": None}
    plan.finish_reason = "tool_calls"
    calls = []
    for index, name in enumerate(names):
        call_id = replies.new_id("call_")
        plan.deltas.append({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                            "function": {"name": name, "arguments": ""}}]})
        for piece in replies.split_in(arguments, replies.ARGUMENT_PIECES):
            plan.deltas.append({"tool_calls": [{"index": index,
                                                "function": {"arguments": piece}}]})
        calls.append({"id": call_id, "type": "function",
                      "function": {"name": name, "arguments": arguments}})
    plan.logprobs += [None] * (len(plan.deltas) - len(plan.logprobs))
    plan.message["tool_calls"] = calls
    plan.completion_tokens = replies.ARGUMENT_PIECES * len(names)


def usage_of(body: dict, plans: list[ChatPlan], fake: FakeUpstream) -> dict[str, Any]:
    prompt = replies.input_tokens(body["messages"])
    usage: dict[str, Any] = {"prompt_tokens": prompt,
                             "completion_tokens": sum(p.completion_tokens for p in plans)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    if fake.cached_tokens > 0:
        usage["prompt_tokens_details"] = {"cached_tokens": min(fake.cached_tokens, prompt)}
    if any(p.reasoning_tokens for p in plans):
        usage["completion_tokens_details"] = {
            "reasoning_tokens": sum(p.reasoning_tokens for p in plans)}
    return usage


class ChatRoute(Plumbing):
    """The chat completions route of the fake's request handler."""

    def _chat(self, body: dict) -> None:
        fault = self._pre("chat", False)
        if fault and fault.kind == "status":
            return
        plans = [plan_choice(body, self.fake) for _ in range(max(1, int(body.get("n") or 1)))]
        usage = usage_of(body, plans, self.fake)
        base = {"id": replies.new_id("chatcmpl-"), "created": int(time.time()),
                "model": body["model"]}
        if not body.get("stream"):
            self._json(200, {**base, "object": "chat.completion", "usage": usage,
                             "choices": [_choice(i, p) for i, p in enumerate(plans)]})
            return
        self._start_stream()

        def event(choices: list, extra: dict | None = None) -> None:
            payload = {**base, "object": "chat.completion.chunk", "choices": choices,
                       **(extra or {})}
            self._chunk(f"data: {json.dumps(payload)}\n\n")

        for i, plan in enumerate(plans):
            event([{"index": i, "delta": plan.role_delta, "finish_reason": None}])
        steps = len(plans[0].deltas)
        for step in range(steps):
            if self._stream_fault(fault, step, "openai"):
                return
            self._pace(step)
            for i, plan in enumerate(plans):
                choice = {"index": i, "delta": plan.deltas[step], "finish_reason": None}
                if plan.logprobs[step] is not None:
                    choice["logprobs"] = plan.logprobs[step]
                event([choice])
        if self._stream_fault(fault, steps, "openai"):
            return
        for i, plan in enumerate(plans):
            event([{"index": i, "delta": {}, "finish_reason": plan.finish_reason}])
        if (body.get("stream_options") or {}).get("include_usage"):
            event([], {"usage": usage})
        self._chunk("data: [DONE]\n\n")
        self._end_stream()



def _choice(index: int, plan: ChatPlan) -> dict:
    choice: dict[str, Any] = {"index": index, "finish_reason": plan.finish_reason,
                              "message": plan.message}
    if any(plan.logprobs):
        choice["logprobs"] = {"content": [lp["content"][0] for lp in plan.logprobs if lp],
                              "refusal": None}
    return choice

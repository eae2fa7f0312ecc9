"""Anthropic-compatible API: POST /v1/messages (SSE or one body), on the same job path.

Authenticated by a hub API key as `x-api-key` (as Anthropic's SDK sends it) or as a Bearer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Raw, String
from apiflask.validators import Range
from flask import Response

from app.blueprints.compat_common import (
    InvalidRequest,
    caller,
    json_body,
    json_response,
    number,
    positive_int,
    sse_response,
    stop_list,
    text_of,
)
from app.blueprints.request_scope import current_request_scope
from app.jobs import api as jobs
from app.jobs.output import JobOutput, compat_executor, start_output
from app.models.base import INTEGER_MAX
from app.security import require_auth

bp = APIBlueprint("anthropic_compat", __name__, url_prefix="/v1", tag="Anthropic-compatible")


class MessagesIn(Schema):
    model = String(required=True)
    max_tokens = Integer(required=True, validate=Range(min=1, max=INTEGER_MAX))
    messages = List(Dict(), required=True)
    system = Raw()
    stream = Boolean()
    temperature = Float()
    top_p = Float()
    stop_sequences = List(String())


def parse_messages(body: dict[str, Any]) -> tuple[jobs.ChatSpec, bool]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: required")
    max_tokens = positive_int(body, "max_tokens", required=True)
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest("messages: a non-empty list is required")
    messages = []
    if body.get("system") is not None:
        messages.append({"role": "system", "content": text_of(body["system"], "system")})
    for i, message in enumerate(raw):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{i}.role: must be user or assistant")
        messages.append({"role": role,
                         "content": text_of(message.get("content"), f"messages.{i}.content")})
    spec = jobs.ChatSpec(model=model, messages=messages, max_tokens=max_tokens,
                         temperature=number(body, "temperature", 0, 1),
                         top_p=number(body, "top_p", 0, 1),
                         stop=stop_list(body.get("stop_sequences"), "stop_sequences"))
    return spec, body.get("stream") is True


def _stop_reason(usage_event: dict, status: str) -> str:
    if status == "succeeded" and usage_event.get("finish_reason") in ("length", "max_tokens"):
        return "max_tokens"
    return "end_turn"


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data}, separators=(',', ':'))}\n\n"


def _message(job_id: str, model: str, content: list, stop_reason: str | None,
             usage: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"msg_{job_id}", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop_reason, "stop_sequence": None,
            "usage": usage}


def _sse(relay: JobOutput, job_id: str, model: str, input_tokens: int) -> Iterator[str]:
    usage_event: dict[str, Any] = {}
    done = False
    try:
        yield _event("message_start", {"message": _message(
            job_id, model, [], None, {"input_tokens": input_tokens, "output_tokens": 0})})
        yield _event("content_block_start",
                     {"index": 0, "content_block": {"type": "text", "text": ""}})
        for event in relay.rest():
            if event.type == "delta":
                yield _event("content_block_delta", {"index": 0, "delta": {
                    "type": "text_delta", "text": event.data["text"]}})
            elif event.type == "usage":
                usage_event = event.data
            elif event.type == "error":
                yield _event("error", {"error": {"type": "api_error",
                                                 "message": event.data["message"]}})
            elif event.type == "done":
                done = True
                usage = usage_event.get("usage", {})
                yield _event("content_block_stop", {"index": 0})
                yield _event("message_delta", {
                    "delta": {"stop_reason": _stop_reason(usage_event, event.data["status"]),
                              "stop_sequence": None},
                    "usage": {"output_tokens": usage.get("output_tokens", 0),
                              "input_tokens": usage.get("input_tokens", 0),
                              "cost_credits": usage_event.get("cost_credits", 0)}})
                yield _event("message_stop", {})
    finally:
        if not done:
            relay.cancel()


@bp.post("/messages")
@require_auth(api_key=True, verified=True, reuse_key=True)
@bp.input(MessagesIn, validation=False)
@bp.doc(summary="Anthropic-compatible messages (stream or not)",
        responses=[200, 400, 401, 402, 403, 404, 429, 502])
def create_message(json_data: Any = None) -> Response:
    spec, stream = parse_messages(json_body())
    user, api_key = caller()
    scope = current_request_scope()
    job = jobs.create_job(user, spec, api_key=api_key, source="anthropic",
                          executor=compat_executor(), scope=scope)
    prompt_tokens = job.prompt_tokens_estimate
    relay = start_output(job, streaming=stream, scope=scope)
    if stream:
        relay.first_output()
        return sse_response(_sse(relay, job.id, spec.model, prompt_tokens), job.id,
                            relay.overhead_ms)
    result = relay.collect()
    usage_event = result["usage"]
    usage = usage_event.get("usage", {})
    body = _message(job.id, spec.model, [{"type": "text", "text": result["text"]}],
                    _stop_reason(usage_event, "failed" if result["error"] else "succeeded"),
                    {"input_tokens": usage.get("input_tokens", 0),
                     "output_tokens": usage.get("output_tokens", 0),
                     "cost_credits": usage_event.get("cost_credits", 0)})
    return json_response(body, job.id, result)

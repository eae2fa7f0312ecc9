"""OpenAI-compatible API: POST /v1/chat/completions (SSE or one body) and GET /v1/models.

Same path as every job: hold → job → run → settle. The run is this web thread's by default
(HUB_COMPAT_EXECUTOR=web: no broker hop, no relay read) or a worker's relayed through the job's
event stream (`queue`); both mirror every event to that stream. Each response
carries `X-Hub-Overhead-Ms` (the time the hub itself added: before the first token when
streaming, in total otherwise) and the charge (`usage.cost_credits`; `X-Hub-Cost-Credits` on
non-streaming responses, whose headers are written after the charge is known).
"""

from __future__ import annotations

import json
import time
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
from app.services.prices import catalog

bp = APIBlueprint("openai_compat", __name__, url_prefix="/v1", tag="OpenAI-compatible")

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


class ChatCompletionIn(Schema):
    model = String(required=True)
    messages = List(Dict(), required=True)
    max_tokens = Integer(validate=Range(min=1, max=INTEGER_MAX))
    max_completion_tokens = Integer(validate=Range(min=1, max=INTEGER_MAX))
    stream = Boolean()
    stream_options = Dict()
    temperature = Float()
    top_p = Float()
    stop = Raw()


def parse_chat(body: dict[str, Any]) -> tuple[jobs.ChatSpec, bool, bool]:
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
        messages.append({"role": ROLES[role],
                         "content": text_of(message.get("content"), f"messages[{i}].content")})
    if body.get("n", 1) != 1:
        raise InvalidRequest("n: only 1 is supported")
    if body.get("tools") or body.get("functions"):
        raise InvalidRequest("tools: tool calling is not supported")
    max_tokens = positive_int(body, "max_completion_tokens") or positive_int(body, "max_tokens")
    spec = jobs.ChatSpec(model=model, messages=messages, max_tokens=max_tokens,
                         temperature=number(body, "temperature", 0, 2),
                         top_p=number(body, "top_p", 0, 1), stop=stop_list(body.get("stop"),
                                                                          "stop"))
    stream = body.get("stream") is True
    options = body.get("stream_options") or {}
    include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
    return spec, stream, include_usage


def _usage(data: dict[str, Any]) -> dict[str, int]:
    usage = data.get("usage", {})
    prompt, completion = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion, "cost_credits": data.get("cost_credits", 0)}


def _chunk(job_id: str, model: str, created: int, delta: dict, finish: str | None,
           usage: dict | None = None, choices: bool = True) -> str:
    body: dict[str, Any] = {"id": f"chatcmpl-{job_id}", "object": "chat.completion.chunk",
                            "created": created, "model": model,
                            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
                            if choices else []}
    if usage is not None:
        body["usage"] = usage
    return f"data: {json.dumps(body, separators=(',', ':'))}\n\n"


def _finish_reason(usage_event: dict, status: str) -> str:
    if status != "succeeded":
        return "stop"
    return "length" if usage_event.get("finish_reason") in ("length", "max_tokens") else "stop"


def _sse(relay: JobOutput, job_id: str, model: str, include_usage: bool) -> Iterator[str]:
    created, usage_event, done = int(time.time()), {}, False
    try:
        yield _chunk(job_id, model, created, {"role": "assistant", "content": ""}, None)
        for event in relay.rest():
            if event.type == "delta":
                yield _chunk(job_id, model, created, {"content": event.data["text"]}, None)
            elif event.type == "usage":
                usage_event = event.data
            elif event.type == "error":
                error = {"error": {"message": event.data["message"], "type": "server_error",
                                   "param": None, "code": event.data["code"]}}
                yield f"data: {json.dumps(error)}\n\n"
            elif event.type == "done":
                done = True
                yield _chunk(job_id, model, created, {},
                             _finish_reason(usage_event, event.data["status"]))
                if include_usage:
                    yield _chunk(job_id, model, created, {}, None, _usage(usage_event),
                                 choices=False)
        yield "data: [DONE]\n\n"
    finally:
        if not done:
            relay.cancel()


@bp.post("/chat/completions")
@require_auth(api_key=True, verified=True, reuse_key=True)
@bp.input(ChatCompletionIn, validation=False)
@bp.doc(summary="OpenAI-compatible chat completions (stream or not)",
        responses=[200, 400, 401, 402, 403, 404, 429, 502])
def chat_completions(json_data: Any = None) -> Response:
    spec, stream, include_usage = parse_chat(json_body())
    user, api_key = caller()
    scope = current_request_scope()
    job = jobs.create_job(user, spec, api_key=api_key, source="openai",
                          executor=compat_executor(), scope=scope)
    relay = start_output(job, streaming=stream, scope=scope)
    if stream:
        relay.first_output()
        return sse_response(_sse(relay, job.id, spec.model, include_usage), job.id,
                            relay.overhead_ms)
    result = relay.collect()
    usage_event = result["usage"]
    body = {"id": f"chatcmpl-{job.id}", "object": "chat.completion", "created": int(time.time()),
            "model": spec.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": result["text"]},
                         "finish_reason": _finish_reason(usage_event, "succeeded"
                                                         if not result["error"] else "failed")}],
            "usage": _usage(usage_event)}
    return json_response(body, job.id, result)


@bp.get("/models")
@require_auth(api_key=True)
@bp.doc(summary="Every enabled chat model, in OpenAI's list shape")
def list_models() -> dict:
    return {"object": "list",
            "data": [{"id": m.id, "object": "model", "created": 0, "owned_by": m.provider}
                     for m in catalog.list_models(kind="chat")]}

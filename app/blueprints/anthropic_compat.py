"""Anthropic-compatible API: POST /v1/messages (SSE or one body), on the same job path.

Authenticated by a hub API key as `x-api-key` (as Anthropic's SDK sends it) or as a Bearer.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Raw, String
from apiflask.validators import Range
from flask import Response

from app.blueprints.compat_common import (
    caller,
    job_spec,
    json_body,
    json_response,
    sse_frames,
    sse_response,
    whole_reply,
)
from app.blueprints.request_scope import current_request_scope
from app.jobs import api as jobs
from app.jobs.output import compat_executor, start_output
from app.models.base import INTEGER_MAX
from app.security import require_auth
from app.wire.anthropic_messages import MessagesWriter, parse_request

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


@bp.post("/messages")
@require_auth(api_key=True, verified=True, reuse_key=True)
@bp.input(MessagesIn, validation=False)
@bp.doc(summary="Anthropic-compatible messages (stream or not)",
        responses=[200, 400, 401, 402, 403, 404, 429, 502])
def create_message(json_data: Any = None) -> Response:
    chat = parse_request(json_body())
    user, api_key = caller()
    scope = current_request_scope()
    job = jobs.create_job(user, job_spec(chat), api_key=api_key, source="anthropic",
                          executor=compat_executor(), scope=scope)
    writer = MessagesWriter(job.id, chat.model, input_tokens=job.prompt_tokens_estimate)
    relay = start_output(job, streaming=chat.stream, scope=scope)
    if chat.stream:
        relay.first_output()
        return sse_response(sse_frames(relay, writer), job.id, relay.overhead_ms)
    result = relay.collect()
    return json_response(writer.body(whole_reply(result)), job.id, result)

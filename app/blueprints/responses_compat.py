"""OpenAI's Responses API: POST /v1/responses (SSE or one body), on the same job path as
/v1/chat/completions, so every chat model answers it (Claude through its adapter).

Stateless: the hub keeps no responses (`store` is accepted, nothing is stored), so a request
carries its whole conversation as `input`. Errors come in OpenAI's shape (`app.errors`).
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, Float, Integer, Raw, String
from apiflask.validators import Range
from flask import Response

from app.blueprints.compat_common import chat_reply, json_body
from app.models.base import INTEGER_MAX
from app.security import require_auth
from app.wire.openai_responses import ResponsesWriter, parse_request, response_echo

bp = APIBlueprint("responses_compat", __name__, url_prefix="/v1", tag="OpenAI-compatible")


class ResponseIn(Schema):
    model = String(required=True)
    input = Raw(required=True)
    instructions = String()
    tools = Raw()
    tool_choice = Raw()
    text = Dict()
    reasoning = Dict()
    max_output_tokens = Integer(validate=Range(min=1, max=INTEGER_MAX))
    stream = Boolean()
    temperature = Float()
    top_p = Float()


@bp.post("/responses")
@require_auth(api_key=True, verified=True, reuse_key=True)
@bp.input(ResponseIn, validation=False)
@bp.doc(summary="OpenAI-compatible Responses API, stateless (stream or not)",
        responses=[200, 400, 401, 402, 403, 404, 429, 502])
def create_response(json_data: Any = None) -> Response:
    body = json_body()
    chat = parse_request(body)
    return chat_reply(chat, source="responses", writer_for=lambda job: ResponsesWriter(
        job.id, chat.model, echo=response_echo(body)))

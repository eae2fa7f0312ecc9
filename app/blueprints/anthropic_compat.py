"""Anthropic-compatible API: POST /v1/messages (SSE or one body), on the same job path.

Authenticated by a hub API key as `x-api-key` (as Anthropic's SDK sends it) or as a Bearer.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Raw, String
from apiflask.validators import Range
from flask import Response

from app.blueprints.compat_common import chat_reply, json_body
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
    return chat_reply(chat, source="anthropic", writer_for=lambda job: MessagesWriter(
        job.id, chat.model, input_tokens=job.prompt_tokens_estimate))

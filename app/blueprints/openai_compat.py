"""OpenAI-compatible API: POST /v1/chat/completions (SSE or one body) and GET /v1/models.

Same path as every job: hold → job → run → settle. The run is this web thread's by default
(HUB_COMPAT_EXECUTOR=web: no broker hop, no relay read) or a worker's relayed through the job's
event stream (`queue`); both mirror every event to that stream. Each response
carries `X-Hub-Overhead-Ms` (the time the hub itself added: before the first token when
streaming, in total otherwise) and the charge (`usage.cost_credits`; `X-Hub-Cost-Credits` on
non-streaming responses, whose headers are written after the charge is known).
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Raw, String
from apiflask.validators import Range
from flask import Response

from app.blueprints.compat_common import chat_reply, json_body
from app.models.base import INTEGER_MAX
from app.providers.types import ModelInfo
from app.security import require_auth
from app.services.prices import catalog
from app.wire.openai_chat import ChatCompletionWriter, parse_request

bp = APIBlueprint("openai_compat", __name__, url_prefix="/v1", tag="OpenAI-compatible")

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


@bp.post("/chat/completions")
@require_auth(api_key=True, verified=True, reuse_key=True)
@bp.input(ChatCompletionIn, validation=False)
@bp.doc(summary="OpenAI-compatible chat completions (stream or not)",
        responses=[200, 400, 401, 402, 403, 404, 429, 502])
def chat_completions(json_data: Any = None) -> Response:
    chat = parse_request(json_body())
    return chat_reply(chat, source="openai", writer_for=lambda job: ChatCompletionWriter(
        job.id, chat.model, include_usage=chat.include_usage, n=chat.n))


@bp.get("/models")
@require_auth(api_key=True)
@bp.doc(summary="Every enabled chat and embedding model, in OpenAI's list shape (with the hub's "
                "capabilities, limits and price in credits)")
def list_models() -> dict:
    return {"object": "list", "data": [_model_entry(m) for m in catalog.list_models()
                                       if m.kind in ("chat", "embedding")]}


def _model_entry(model: ModelInfo) -> dict[str, Any]:
    """OpenAI's model object plus the hub's fields (OpenAI's SDKs keep unknown fields)."""
    return {"id": model.id, "object": "model", "created": 0, "owned_by": model.provider,
            "capabilities": list(model.capabilities), "context_window": model.context_window,
            "max_output_tokens": model.max_output_tokens,
            "price": catalog.model_rates(model.kind, model.price)}

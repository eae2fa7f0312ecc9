"""OpenAI-compatible embeddings: POST /v1/embeddings.

Same path as every job: hold → job → run → settle, run by this web thread (no queue hop) and
held at the exact input (`app.jobs.embeddings`). The body is checked here, field by field, in
OpenAI's terms; parameters the hub does not know are passed upstream untouched. The vectors are
relayed as the provider encoded them (`encoding_format`: `float`, or `base64`, which the
official SDK asks for by default and decodes itself).
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Integer, Raw, String
from apiflask.validators import Range
from flask import Response

from app.blueprints.compat_common import caller, json_body, json_response
from app.blueprints.request_scope import current_request_scope
from app.jobs.embeddings import Embeddings, create_embeddings
from app.models.base import INTEGER_MAX
from app.providers.embedding import EmbeddingInput, EmbeddingRequest
from app.security import require_auth
from app.wire.base import InvalidRequest, positive_int

bp = APIBlueprint("embeddings", __name__, url_prefix="/v1", tag="OpenAI-compatible")

KNOWN_FIELDS = ("model", "input", "encoding_format", "dimensions", "user")
ENCODING_FORMATS = ("float", "base64")


class EmbeddingIn(Schema):
    model = String(required=True)
    input = Raw(required=True, metadata={"description": "a string, a list of strings, a list "
                                         "of token ids, or a list of token-id lists"})
    encoding_format = String(metadata={"description": "float (default) or base64"})
    dimensions = Integer(validate=Range(min=1, max=INTEGER_MAX))
    user = String()


def _token_ids(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in value)


def parse_input(value: Any) -> EmbeddingInput:
    """`input` as OpenAI accepts it; InvalidRequest naming the field otherwise."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise InvalidRequest("input: a string, a list of strings, or token-id arrays")
    if not value:
        raise InvalidRequest("input: must not be empty")
    if isinstance(value[0], str):  # a list of strings
        check, kind = (lambda item: isinstance(item, str)), "a string, as the first input"
    elif isinstance(value[0], int) and not isinstance(value[0], bool):  # one token array
        check, kind = (lambda t: isinstance(t, int) and not isinstance(t, bool) and t >= 0), \
            "a token id (an integer >= 0)"
    else:  # token arrays
        check, kind = _token_ids, "a non-empty array of token ids (integers >= 0)"
    for index, item in enumerate(value):
        if not check(item):
            raise InvalidRequest(f"input[{index}]: must be {kind}")
    return value


def parse_request(body: dict[str, Any]) -> EmbeddingRequest:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: required (a model id)")
    if "input" not in body:
        raise InvalidRequest("input: required")
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ENCODING_FORMATS:
        raise InvalidRequest("encoding_format: must be float or base64")
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise InvalidRequest("user: must be a string")
    return EmbeddingRequest(model=model, input=parse_input(body["input"]),
                            encoding_format=encoding_format,
                            dimensions=positive_int(body, "dimensions"), user=user,
                            extra={k: v for k, v in body.items() if k not in KNOWN_FIELDS})


def reply_body(embeddings: Embeddings, model: str) -> dict[str, Any]:
    """OpenAI's embeddings list, with the hub's charge in `usage.cost_credits`."""
    tokens = embeddings.prompt_tokens
    return {"object": "list", "model": model,
            "data": [{"object": "embedding", "index": index, "embedding": vector}
                     for index, vector in enumerate(embeddings.vectors)],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens,
                      "cost_credits": embeddings.cost_credits}}


@bp.post("/embeddings")
@require_auth(api_key=True, verified=True, reuse_key=True)
@bp.input(EmbeddingIn, validation=False)
@bp.doc(summary="OpenAI-compatible embeddings, charged for the input tokens",
        responses=[200, 400, 401, 402, 403, 404, 422, 429, 502])
def embeddings(json_data: Any = None) -> Response:
    request = parse_request(json_body())
    user, api_key = caller()
    result = create_embeddings(user, request, api_key=api_key, scope=current_request_scope())
    return json_response(reply_body(result, request.model), result.job_id, {
        "overhead_ms": result.overhead_ms, "usage": {"cost_credits": result.cost_credits}})

"""OpenAI embeddings adapter on the official `openai` SDK (any OpenAI-compatible server works).

The hub always names `encoding_format` upstream, so the SDK hands the vectors back exactly as
the server sent them (it decodes base64 only when it chose base64 itself); the body is read
raw all the same, so nothing the hub does not know is dropped or reshaped.
"""

from __future__ import annotations

from typing import Any

import openai

from app.providers.catalog import ModelSpec
from app.providers.embedding import (
    EmbeddingProvider,
    EmbeddingRequest,
    EmbeddingResult,
    inputs_of,
)
from app.providers.errors import ProviderUnavailable
from app.providers.openai_chat import mapped_errors


def request_params(request: EmbeddingRequest) -> dict[str, Any]:
    """The SDK's arguments for a request; unknown parameters go as `extra_body`."""
    params: dict[str, Any] = {"model": request.model, "input": request.input,
                              "encoding_format": request.encoding_format}
    if request.dimensions is not None:
        params["dimensions"] = request.dimensions
    if request.user is not None:
        params["user"] = request.user
    if request.extra:
        params["extra_body"] = dict(request.extra)
    return params


def read_result(body: Any, expected: int) -> EmbeddingResult:
    """The vectors in input order and the reported prompt tokens; ProviderUnavailable if the
    answer is not a whole embeddings list."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != expected:
        raise ProviderUnavailable(f"openai: expected {expected} embeddings in the reply")
    ordered = sorted(data, key=lambda item: item.get("index", 0))
    usage = body.get("usage") or {}
    tokens = usage.get("prompt_tokens")
    if not isinstance(tokens, int) or tokens < 0:
        raise ProviderUnavailable("openai: the reply reported no usage")
    return EmbeddingResult(vectors=[item.get("embedding") for item in ordered],
                           prompt_tokens=tokens)


class OpenAIEmbeddings(EmbeddingProvider):
    name = "openai"

    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client

    def embed(self, request: EmbeddingRequest, spec: ModelSpec) -> EmbeddingResult:
        with mapped_errors():
            raw = self.client.embeddings.with_raw_response.create(**request_params(request))
        try:
            body = raw.http_response.json()
        except ValueError:
            raise ProviderUnavailable("openai: the embeddings reply was not JSON") from None
        return read_result(body, len(inputs_of(request.input)))

"""Embeddings: the provider-neutral request and result, and the adapter interface.

An embedding call is one request and one answer (no stream), so the hub's model of it is small:
the inputs, the few parameters the hub checks (`dimensions`, `encoding_format`), and every
other parameter the caller sent, passed upstream untouched (`extra`). The vectors are relayed
as the provider sent them in the requested encoding (lists of floats, or base64 strings of
little-endian float32), never decoded and re-encoded by the hub.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from app.providers.catalog import ModelSpec

EncodingFormat = Literal["float", "base64"]
# What OpenAI's embeddings endpoint accepts as `input`: a string, strings, token ids, or lists
# of token ids.
EmbeddingInput = str | list[str] | list[int] | list[list[int]]


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str
    input: EmbeddingInput
    encoding_format: EncodingFormat = "float"
    dimensions: int | None = None
    user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # passed upstream untouched


@dataclass(frozen=True)
class EmbeddingResult:
    """The provider's answer: one vector per input, in input order, as the provider encoded
    it, and the input tokens it reports (what the job is charged for)."""

    vectors: list[Any]
    prompt_tokens: int


def inputs_of(value: EmbeddingInput) -> list[str] | list[list[int]]:
    """The request's inputs as a list (a lone string or a lone token array is one input)."""
    if isinstance(value, str):
        return [value]
    if value and all(isinstance(item, int) for item in value):
        return [value]  # type: ignore[list-item]
    return value  # type: ignore[return-value]


class EmbeddingProvider(ABC):
    name: str

    @abstractmethod
    def embed(self, request: EmbeddingRequest, spec: ModelSpec) -> EmbeddingResult:
        """One upstream call; vendor errors mapped to `app.providers.errors`."""

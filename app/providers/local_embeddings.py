"""The built-in `local` provider's embeddings: no key, no network, deterministic. Not an AI.

Each input's vector is a unit vector drawn from a generator seeded by the input, so the same
text always gets the same vector (and the embedded demo can be repeated exactly); usage is
counted with the tokenizer that sizes the hold.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import struct

from app.providers.catalog import ModelSpec
from app.providers.embedding import (
    EmbeddingProvider,
    EmbeddingRequest,
    EmbeddingResult,
    inputs_of,
)
from app.providers.tokens import count_text

DEFAULT_DIMENSIONS = 256


def local_vector(item: str | list[int], dimensions: int) -> list[float]:
    """A deterministic unit vector for one input."""
    seed = hashlib.sha256(repr(item).encode()).digest()
    rng = random.Random(seed)  # nosec B311  # deterministic demo vectors, not a secret
    values = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def encode_base64(vector: list[float]) -> str:
    """OpenAI's base64 encoding: the little-endian float32 bytes of the vector."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


class LocalEmbeddings(EmbeddingProvider):
    name = "local"

    def embed(self, request: EmbeddingRequest, spec: ModelSpec) -> EmbeddingResult:
        dimensions = request.dimensions or spec.max_dimensions or DEFAULT_DIMENSIONS
        vectors, tokens = [], 0
        for item in inputs_of(request.input):
            vector = local_vector(item, dimensions)
            vectors.append(encode_base64(vector) if request.encoding_format == "base64"
                           else vector)
            tokens += count_text(spec.tokenizer, item) if isinstance(item, str) else len(item)
        return EmbeddingResult(vectors=vectors, prompt_tokens=tokens)

"""OpenAI `POST /v1/embeddings` for the fake upstream: deterministic unit vectors."""

from __future__ import annotations

from tests.fake_upstream import replies
from tests.fake_upstream.plumbing import Plumbing


class EmbeddingsRoute(Plumbing):
    """The embeddings route of the fake's request handler."""

    def _embeddings(self, body: dict) -> None:
        fault = self._pre("embeddings", False)
        if fault:
            if fault.kind != "status":  # no stream to cut into: any other fault drops the line
                self._cut()
            return
        dimensions = int(body.get("dimensions") or replies.DEFAULT_EMBEDDING_DIMENSIONS)
        as_base64 = body.get("encoding_format") == "base64"
        inputs = replies.embedding_inputs(body.get("input"))
        data = []
        for index, (text, _) in enumerate(inputs):
            vector = replies.embedding(text, dimensions)
            data.append({"object": "embedding", "index": index,
                         "embedding": replies.as_base64(vector) if as_base64 else vector})
        tokens = sum(count for _, count in inputs)
        self._json(200, {"object": "list", "data": data, "model": body.get("model"),
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

"""Pricing of embeddings: the hold is the exact input, the charge what the provider reports.

An embedding has no output to bound, so its worst case is its input: every input is counted
with the model's tokenizer (a token-id array is its length), each checked against the model's
per-input limit, and the hold is `ceil(tokens × input price / 1e6)` at the current price
version. The settlement charges the provider-reported `prompt_tokens` at that same version,
rounded up the same way, and never more than the hold (`embedding_cost`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import HubError
from app.providers.catalog import ModelSpec
from app.providers.embedding import EmbeddingInput, inputs_of
from app.providers.errors import InvalidModelRequest
from app.providers.tokens import count_text
from app.services.prices.catalog import model_spec
from app.services.prices.history import current_prices, price_version
from app.services.prices.pricing import credits_for_tokens

MAX_INPUTS = 2048  # OpenAI's limit on the inputs of one request


class InvalidEmbeddingInput(HubError):
    """The inputs cannot be embedded as sent (empty, too many, one too long)."""

    http_status = 400
    code = "invalid_request_error"


@dataclass(frozen=True)
class EmbeddingQuote:
    hold_credits: int
    input_tokens: int
    price_id: int
    input_per_mtok_credits: int
    price_stamp: str


def count_inputs(spec: ModelSpec, value: EmbeddingInput) -> int:
    """The tokens of every input, checked: at least one input, at most MAX_INPUTS, none empty
    and none over the model's per-input limit."""
    inputs = inputs_of(value)
    if not inputs:
        raise InvalidEmbeddingInput("input: must not be empty")
    if len(inputs) > MAX_INPUTS:
        raise InvalidEmbeddingInput(f"input: at most {MAX_INPUTS} inputs per request")
    total = 0
    for index, item in enumerate(inputs):
        tokens = count_text(spec.tokenizer, item) if isinstance(item, str) else len(item)
        if tokens == 0:
            raise InvalidEmbeddingInput(f"input[{index}]: must not be empty")
        if spec.max_input_tokens and tokens > spec.max_input_tokens:
            raise InvalidEmbeddingInput(
                f"input[{index}]: {tokens} tokens; {spec.id} takes at most "
                f"{spec.max_input_tokens} tokens per input")
        total += tokens
    return total


def check_dimensions(spec: ModelSpec, dimensions: int | None) -> None:
    if dimensions is None:
        return
    if spec.max_dimensions is None:
        raise InvalidEmbeddingInput(f"dimensions: {spec.id} does not take dimensions")
    if not 1 <= dimensions <= spec.max_dimensions:
        raise InvalidEmbeddingInput(
            f"dimensions: must be between 1 and {spec.max_dimensions} for {spec.id}")


def quote_embedding(model_id: str, value: EmbeddingInput, dimensions: int | None, *,
                    reuse_price: bool = False) -> EmbeddingQuote:
    """The hold for an embeddings request: its counted input tokens at today's input price
    (`reuse_price`: as this process read it lately, see `app.services.recent_reads`)."""
    spec = model_spec(model_id)
    if spec.kind != "embedding":
        raise InvalidModelRequest(f"model: {model_id} is a {spec.kind} model, "
                                  "not an embedding model")
    check_dimensions(spec, dimensions)
    tokens = count_inputs(spec, value)
    price = current_prices([spec], reuse=reuse_price)[spec.id]
    return EmbeddingQuote(hold_credits=credits_for_tokens(tokens, price.input_per_mtok_credits),
                          input_tokens=tokens, price_id=price.price_id,  # type: ignore[arg-type]
                          input_per_mtok_credits=price.input_per_mtok_credits,
                          price_stamp=price.stamp)


def embedding_cost(price_id: int, prompt_tokens: int, hold_credits: int) -> int:
    """The charge for the provider-reported tokens at the hold's price version, capped at the
    hold: the hold counted the input exactly, so a provider counting more is not the user's
    to pay."""
    charged = credits_for_tokens(prompt_tokens, price_version(price_id).input_per_mtok_credits)
    return min(charged, hold_credits)

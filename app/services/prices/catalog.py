"""The models this hub offers (its enabled channels'), joined with their current prices."""

from __future__ import annotations

from app.providers.catalog import ModelSpec
from app.providers.registry import current_catalog
from app.providers.types import ModelInfo, Price
from app.services.prices.history import current_prices


def model_spec(model_id: str) -> ModelSpec:
    """The offered model's specification (no database access); raises ModelNotFound."""
    return current_catalog().spec(model_id)


def list_models(kind: str | None = None) -> list[ModelInfo]:
    """Every offered model (only enabled providers'), with its current price."""
    specs = current_catalog().specs(kind)
    prices = current_prices(specs)
    return [spec.info(prices[spec.id]) for spec in specs]



def model_rates(kind: str, price: Price) -> dict[str, int]:
    """A model's price as `/api/models` and `/v1/models` show it, by kind: per second of
    video (without audio and with it: an unset audio rate is shown as what it charges), per
    input token of embeddings, the token rates of chat."""
    if kind == "video":
        return {"per_second_credits": price.per_second_credits,
                "per_second_audio_credits": price.per_second_rate(audio=True)}
    if kind == "embedding":
        return {"input_per_mtok_credits": price.input_per_mtok_credits}
    return chat_rates(price)


def chat_rates(price: Price) -> dict[str, int]:
    """A chat model's rates as `/api/models` and `/v1/models` show them: a cache rate the price
    leaves unset is shown as what it charges, the input rate."""
    return {"input_per_mtok_credits": price.input_per_mtok_credits,
            "output_per_mtok_credits": price.output_per_mtok_credits,
            "cached_input_per_mtok_credits": price.effective_cached_input_per_mtok_credits,
            "cache_write_per_mtok_credits": price.effective_cache_write_per_mtok_credits}

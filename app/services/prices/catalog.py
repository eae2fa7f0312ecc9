"""The models this hub offers (its enabled channels'), joined with their current prices."""

from __future__ import annotations

from app.providers.catalog import ModelSpec
from app.providers.registry import current_catalog
from app.providers.types import ModelInfo
from app.services.prices.history import current_prices


def model_spec(model_id: str) -> ModelSpec:
    """The offered model's specification (no database access); raises ModelNotFound."""
    return current_catalog().spec(model_id)


def list_models(kind: str | None = None) -> list[ModelInfo]:
    """Every offered model (only enabled providers'), with its current price."""
    specs = current_catalog().specs(kind)
    prices = current_prices(specs)
    return [spec.info(prices[spec.id]) for spec in specs]


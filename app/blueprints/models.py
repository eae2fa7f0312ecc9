"""The model catalog with prices: `GET /api/models` (public)."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import Integer, List, Nested, String
from apiflask.validators import OneOf

from app.providers.types import ModelInfo
from app.security import public
from app.services.prices.catalog import list_models, model_rates

bp = APIBlueprint("models", __name__, tag="Models")


class ModelsQuery(Schema):
    kind = String(validate=OneOf(["chat", "video", "embedding"]))


class PriceOut(Schema):
    input_per_mtok_credits = Integer()
    output_per_mtok_credits = Integer()
    cached_input_per_mtok_credits = Integer(metadata={
        "description": "chat: per 1M prompt tokens read from the provider's prompt cache"})
    cache_write_per_mtok_credits = Integer(metadata={
        "description": "chat: per 1M prompt tokens written to the provider's prompt cache"})
    per_second_credits = Integer()
    per_second_audio_credits = Integer(metadata={
        "description": "video: per second of video made with audio"})


class ModelOut(Schema):
    id = String(required=True)
    provider = String(required=True)
    kind = String(required=True)
    label = String(required=True)
    price = Nested(PriceOut, required=True)
    context_window = Integer(allow_none=True)
    max_output_tokens = Integer(allow_none=True)
    capabilities = List(String())
    video_seconds = List(Integer(), metadata={"description": "video models: allowed lengths"})
    video_sizes = List(String(), metadata={"description": "video models: allowed WxH sizes"})
    video_aspect_ratios = List(String(), metadata={
        "description": "video models: allowed aspect ratios (W:H), for models without sizes"})
    video_resolutions = List(String(), metadata={
        "description": "video models: allowed resolutions (720p, 1080p)"})
    video_options = List(String(), metadata={
        "description": "video models: what else they accept, from negative_prompt, audio, "
                       "first_frame"})


class ModelsOut(Schema):
    items = List(Nested(ModelOut), required=True)


def _shape(model: ModelInfo) -> dict:
    extra: dict = {}
    if model.kind == "video":
        extra = {"video_seconds": list(model.video_seconds),
                 "video_sizes": list(model.video_sizes),
                 "video_aspect_ratios": list(model.video_aspect_ratios),
                 "video_resolutions": list(model.video_resolutions),
                 "video_options": list(model.video_options)}
    price = model_rates(model.kind, model.price)
    return {"id": model.id, "provider": model.provider, "kind": model.kind, "label": model.label,
            "price": price, "context_window": model.context_window,
            "max_output_tokens": model.max_output_tokens,
            "capabilities": list(model.capabilities), **extra}


@bp.get("/api/models")
@public
@bp.input(ModelsQuery, location="query", arg_name="query")
@bp.output(ModelsOut)
@bp.doc(summary="The models on offer, with prices in credits (100,000 credits = US$1)")
def models(query: dict) -> dict:
    return {"items": [_shape(m) for m in list_models(query.get("kind"))]}

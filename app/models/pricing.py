"""Model prices with history: a price change adds a version, so past charges keep theirs."""

from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, IntegerField

from app.models.base import BaseModel, utcnow


class ModelPrice(BaseModel):
    """One version of a model's price, in credits (100,000 credits = US$1). Never updated."""

    model_id = CharField(max_length=100)
    version = IntegerField()
    input_per_mtok_credits = BigIntegerField(default=0)
    output_per_mtok_credits = BigIntegerField(default=0)
    per_second_credits = BigIntegerField(default=0)
    # prompt caching (migration 014); NULL: the input rate
    cached_input_per_mtok_credits = BigIntegerField(null=True)
    cache_write_per_mtok_credits = BigIntegerField(null=True)
    # a second of video with audio (migration 016); NULL: per_second_credits
    per_second_audio_credits = BigIntegerField(null=True)
    reason = CharField(max_length=200, default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "model_prices"
        indexes = ((("model_id", "version"), True),)

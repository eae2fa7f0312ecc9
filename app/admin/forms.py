"""Back-office forms. All are Flask-WTF forms, so each carries and checks a CSRF token."""

from __future__ import annotations

import uuid
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.services.ledger.movements import MAX_AMOUNT_CREDITS


def _not_zero(form: Any, field: Any) -> None:
    if field.data == 0:
        raise ValidationError("must not be zero")


class AdjustCreditsForm(FlaskForm):
    """A signed amount and a reason; the idempotency key is new on every render of the form,
    so submitting the same rendered form twice moves credits once."""

    amount_credits = IntegerField(
        "Amount (credits; negative removes)",
        validators=[InputRequired(), NumberRange(min=-MAX_AMOUNT_CREDITS, max=MAX_AMOUNT_CREDITS),
                    _not_zero])
    reason = StringField("Reason", validators=[InputRequired(), Length(min=1, max=500)])
    idempotency_key = HiddenField(validators=[InputRequired(), Length(min=8, max=150)])

    def fresh_key(self) -> None:
        self.idempotency_key.data = uuid.uuid4().hex


# bounded like one credit movement: far above any real price, well inside the BIGINT column
PRICE_RANGE = NumberRange(min=0, max=MAX_AMOUNT_CREDITS)


class SetPriceForm(FlaskForm):
    """A new price version; fields left empty keep their current value."""

    model_id = SelectField("Model", validators=[InputRequired()])
    input_per_mtok_credits = IntegerField("Input, credits per 1M tokens",
                                          validators=[Optional(), PRICE_RANGE])
    output_per_mtok_credits = IntegerField("Output, credits per 1M tokens",
                                           validators=[Optional(), PRICE_RANGE])
    cached_input_per_mtok_credits = IntegerField(
        "Cached input, credits per 1M tokens", validators=[Optional(), PRICE_RANGE])
    cache_write_per_mtok_credits = IntegerField(
        "Cache write, credits per 1M tokens", validators=[Optional(), PRICE_RANGE])
    per_second_credits = IntegerField("Video, credits per second",
                                      validators=[Optional(), PRICE_RANGE])
    per_second_audio_credits = IntegerField("Video with audio, credits per second",
                                            validators=[Optional(), PRICE_RANGE])
    reason = StringField("Reason", validators=[InputRequired(), Length(min=1, max=200)])

    def validate_reason(self, field: Any) -> None:
        if not field.data.strip():
            raise ValidationError("a reason is required")

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        prices = (self.input_per_mtok_credits.data, self.output_per_mtok_credits.data,
                  self.cached_input_per_mtok_credits.data,
                  self.cache_write_per_mtok_credits.data, self.per_second_credits.data,
                  self.per_second_audio_credits.data)
        if all(price is None for price in prices):
            self.input_per_mtok_credits.errors.append("give at least one price")
            return False
        return True

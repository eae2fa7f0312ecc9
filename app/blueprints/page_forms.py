"""The forms of the account pages (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.models.base import BIGINT_MAX


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    remember = BooleanField("Keep me signed in on this device")


class TwoFactorForm(FlaskForm):
    code = StringField("Authentication code", validators=[DataRequired(), Length(max=32)],
                       description="The 6-digit code from your authenticator app, or a "
                                   "recovery code.")


class RegisterForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)],
                             description="At least 10 characters; not your e-mail address and "
                                         "not a common password.")


class VerifyForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])
    code = StringField("Code", validators=[DataRequired(), Regexp(r"^\s*\d{6}\s*$",
                                                                  message="Enter the 6 digits.")])


class EmailOnlyForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])


class ResetForm(FlaskForm):
    # Filled by js/reset.js from the link's fragment (or, for a link mailed with ?token=, by
    # the page): the token travels in the POST body, never in a URL.
    token = HiddenField(validators=[Optional(), Length(max=200)])
    password = PasswordField("New password", validators=[DataRequired(), Length(max=256)],
                             description="At least 10 characters.")


REVOKE_API_KEYS_LABEL = "Also revoke all my API keys"


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=256)],
                                 description="At least 10 characters.")
    revoke_api_keys = BooleanField(REVOKE_API_KEYS_LABEL)


class SignOutEverywhereForm(FlaskForm):
    revoke_api_keys = BooleanField(REVOKE_API_KEYS_LABEL)


class TwoFactorDisableForm(FlaskForm):
    password = PasswordField("Password", validators=[Optional()])
    code = StringField("Authentication code", validators=[DataRequired(), Length(max=32)])


class ActionForm(FlaskForm):
    """A button-only form (sign out, revoke, rotate): just the CSRF token."""


class KeyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)],
                       description="Something to recognise it by, e.g. “laptop” or “CI”.")
    expires_on = DateField("Expires on", validators=[Optional()],
                           description="Optional. The key stops working at the start of this day (UTC).")
    allowed_models = StringField("Allowed models", validators=[Optional(), Length(max=2000)],
                                 description="Optional. Comma-separated model ids; empty: all.")
    cap_total_credits = IntegerField("Credit cap (total)",
                                     validators=[Optional(), NumberRange(min=0, max=BIGINT_MAX)])
    cap_monthly_credits = IntegerField("Credit cap (per month)",
                                       validators=[Optional(), NumberRange(min=0, max=BIGINT_MAX)])

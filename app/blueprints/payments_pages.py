"""`/credits/payments`: packages to buy through Stripe Checkout (a plain form, no JavaScript
needed), payment history with receipts, and the low-balance alert. `/credits` itself (balance,
usage, ledger history, promo codes) is the live page in `live_pages`. Every form carries a CSRF
token; the work is the payments services'."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.errors import HubError
from app.security.pages import page_auth
from app.services import ledger
from app.services.payments.checkout import start_checkout
from app.services.payments.history import list_payments
from app.services.payments.notifications import low_balance_alert, set_low_balance_threshold
from app.services.payments.packages import active_packages
from app.services.runtime import current_settings

bp = Blueprint("payments_pages", __name__)

HISTORY_ROWS = 20


class BuyForm(FlaskForm):
    package = HiddenField(validators=[DataRequired(), Length(max=40)])


class LowBalanceForm(FlaskForm):
    threshold_credits = IntegerField(
        "Alert me below (credits)", validators=[InputRequired(), NumberRange(min=0, max=10**12)],
        description="An e-mail each time your available credits fall below this; 0 turns it "
                    "off.")


@bp.get("/credits/payments")
@page_auth()
def credits() -> str:
    if request.args.get("paid"):
        flash("Thank you! Your credits appear here as soon as Stripe confirms the payment.",
              "success")
    elif request.args.get("cancelled"):
        flash("The payment was cancelled; nothing was charged.", "info")
    alert = low_balance_alert(current_user.id)
    alert_form = LowBalanceForm(threshold_credits=alert.threshold_credits if alert else 0)
    return render_template(
        "pages/credits_payments.html", balance=ledger.get_balance(current_user.id),
        packages=active_packages(), buy_form=BuyForm(), alert_form=alert_form,
        payments=list_payments(current_user.id, limit=HISTORY_ROWS).items,
        payments_enabled=current_settings().payments_enabled)


@bp.post("/credits/buy")
@page_auth()
def buy() -> Response:
    form = BuyForm()
    if not form.validate_on_submit():
        flash("Choose a package.", "danger")
        return redirect(url_for("payments_pages.credits"))
    if not current_user.is_verified:
        flash("Verify your e-mail address before buying credits.", "danger")
        return redirect(url_for("payments_pages.credits"))
    back = f"{current_settings().public_url}{url_for('payments_pages.credits')}"
    try:
        started = start_checkout(current_user, form.package.data,
                                 success_url=f"{back}?paid=1", cancel_url=f"{back}?cancelled=1")
    except HubError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("payments_pages.credits"))
    return redirect(started.checkout_url, code=303)


@bp.post("/credits/low-balance")
@page_auth()
def low_balance() -> Response:
    form = LowBalanceForm()
    if form.validate_on_submit():
        alert = set_low_balance_threshold(current_user.id, form.threshold_credits.data)
        flash(f"Low-balance alert set at {alert.threshold_credits:,} credits."
              if alert.threshold_credits else "Low-balance alert turned off.", "success")
    else:
        flash("Enter a whole number of credits (0 turns the alert off).", "danger")
    return redirect(url_for("payments_pages.credits"))

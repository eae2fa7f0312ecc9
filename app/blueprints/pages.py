"""Server-rendered account pages: sign-in (with two-factor), registration, verification,
password reset, dashboard, account settings and API keys. Every form carries a CSRF token.

The dashboard's figures are one fragment (`pages/_dashboard_panels.html`), rendered into the
page and alone by `/dashboard/panels` with an ETag (`account_version`), so the page's script
can ask every few seconds whether anything changed and gets a bodiless 304 when nothing did."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_bootstrap import Bootstrap5
from flask_login import current_user
from werkzeug.wrappers import Response

from app.blueprints.page_forms import (
    ActionForm,
    ChangePasswordForm,
    EmailOnlyForm,
    KeyForm,
    LoginForm,
    RegisterForm,
    ResetForm,
    SignOutEverywhereForm,
    TwoFactorDisableForm,
    TwoFactorForm,
    VerifyForm,
)
from app.blueprints.sign_in import PENDING_2FA, continue_sign_in, safe_next_url
from app.charts import bar_chart, column_chart
from app.errors import HubError
from app.models.users import User
from app.security import public
from app.security.authenticate import has_role, two_factor_missing
from app.security.limits import rate_limited
from app.security.pages import page_auth
from app.security.sessions import end_session, start_session
from app.services import accounts, api_keys, auth_tokens, two_factor
from app.services.kpis.account import DASHBOARD_DAYS, account_summary, account_version
from app.services.runtime import current_settings

bp = Blueprint("pages", __name__)

# The shared navigation: (label, path, roles). An entry shows when its path is routed in this
# app (each area's pages add theirs here) and the user has one of its roles (none: everyone).
NAV_ITEMS: list[tuple[str, str, tuple[str, ...]]] = [
    ("Dashboard", "/dashboard", ()),
    ("Chat", "/chat", ()),
    ("Video", "/video", ()),
    ("Credits", "/credits", ()),
    ("Keys", "/keys", ()),
    ("Account", "/account", ()),
    ("Admin", "/admin/", ("support",)),
]


@bp.record_once
def _setup(state: Any) -> None:
    state.app.config["BOOTSTRAP_SERVE_LOCAL"] = True  # Bootstrap from the package, no CDN
    Bootstrap5(state.app)


@bp.app_context_processor
def _layout_helpers() -> dict:
    def nav_items() -> list[tuple[str, str]]:
        routed = {rule.rule for rule in current_app.url_map.iter_rules()}
        return [(label, path) for label, path, roles in NAV_ITEMS
                if path in routed and has_role(current_user, *roles)]

    return {"nav_items": nav_items, "two_factor_missing": two_factor_missing}


def _render(template: str, **context: Any) -> str:
    return render_template(f"pages/{template}", **context)


def _fail(error: HubError) -> None:
    flash(error.message, "danger")


@bp.get("/favicon.ico")
@public
def favicon() -> Response:
    return send_from_directory(current_app.static_folder, "favicon.svg",
                               mimetype="image/svg+xml", max_age=86_400)


@bp.get("/")
@public
def index() -> Response:
    target = "pages.dashboard" if current_user.is_authenticated else "pages.login"
    return redirect(url_for(target))


# --- sign-in -------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
@public
@rate_limited("login")
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(safe_next_url(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate_password(form.email.data, form.password.data)
        except HubError as exc:
            _fail(exc)
        else:
            return continue_sign_in(user, remember=form.remember.data,
                                     next_url=request.args.get("next"))
    return _render("login.html", form=form, google=current_settings().google_enabled)


@bp.route("/login/two-factor", methods=["GET", "POST"])
@public
@rate_limited("login")
def login_two_factor() -> Response | str:
    pending = session.get(PENDING_2FA)
    user = User.get_or_none(User.id == pending["user"]) if pending else None
    if user is None or user.auth_version != pending["av"] or not user.is_active:
        session.pop(PENDING_2FA, None)
        return redirect(url_for("pages.login"))
    form = TwoFactorForm()
    if form.validate_on_submit():
        try:
            accounts.check_second_factor(user, form.code.data)
        except HubError as exc:
            _fail(exc)
        else:
            session.pop(PENDING_2FA, None)
            accounts.record_login(user)
            start_session(user, remember=pending["remember"])
            return redirect(safe_next_url(pending["next"]))
    return _render("login_two_factor.html", form=form)


@bp.post("/logout")
@public
def logout() -> Response:
    if ActionForm().validate_on_submit():
        end_session()
        flash("You are signed out.", "success")
    return redirect(url_for("pages.login"))


# --- registration and verification ---------------------------------------------------------
@bp.route("/register", methods=["GET", "POST"])
@public
@rate_limited("register")
def register() -> Response | str:
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            accounts.register(form.email.data, form.password.data, form.name.data or "")
        except HubError as exc:
            _fail(exc)
        else:
            flash("Check your inbox: we sent you a 6-digit code.", "success")
            return redirect(url_for("pages.verify", email=form.email.data.strip().lower()))
    return _render("register.html", form=form)


@bp.route("/verify", methods=["GET", "POST"])
@public
@rate_limited("otp")
def verify() -> Response | str:
    form = VerifyForm(email=request.args.get("email", ""))
    if form.validate_on_submit():
        try:
            accounts.verify_email(form.email.data, form.code.data)
        except HubError as exc:
            _fail(exc)
        else:
            flash("Your e-mail address is verified.", "success")
            target = "pages.dashboard" if current_user.is_authenticated else "pages.login"
            return redirect(url_for(target))
    return _render("verify.html", form=form, resend_form=EmailOnlyForm(email=form.email.data))


@bp.post("/verify/resend")
@public
@rate_limited("otp")
def verify_resend() -> Response:
    form = EmailOnlyForm()
    if form.validate_on_submit():
        accounts.request_verification_code(form.email.data)
        flash("If that address has an unverified account, a new code is on its way "
              "(at most one a minute).", "info")
    return redirect(url_for("pages.verify", email=form.email.data or ""))


# --- passwords -----------------------------------------------------------------------------
@bp.route("/forgot", methods=["GET", "POST"])
@public
@rate_limited("password_forgot")
def forgot() -> Response | str:
    form = EmailOnlyForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        flash("If that address has an account, a reset link is on its way. It is valid for "
              "30 minutes.", "info")
        return redirect(url_for("pages.login"))
    return _render("forgot.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
@public
@rate_limited("password_forgot")
def reset() -> Response | str:
    # Mailed links read /reset#token=… (js/reset.js fills the form's hidden field); links
    # mailed before read ?token=…, which fills it here (gunicorn's access log redacts it).
    form = ResetForm(token=request.args.get("token", ""))
    if form.validate_on_submit():
        try:
            user = accounts.reset_password(form.token.data or "", form.password.data)
        except HubError as exc:
            _fail(exc)
        else:
            end_session()
            keys_note = " Your API keys still work: review them on the Keys page." \
                if api_keys.active_key_count(user) else ""
            flash(f"Your password is changed. Sign in with it.{keys_note}", "success")
            return redirect(url_for("pages.login"))
    return _render("reset.html", form=form)


# --- signed-in pages -----------------------------------------------------------------------
@bp.get("/dashboard")
@page_auth()
def dashboard() -> str:
    days = _dashboard_days()
    version = account_version(current_user.id, days)  # before the figures: never newer
    return _render("dashboard.html", keys=api_keys.list_keys(current_user), version=version,
                   **_dashboard_figures(days))


@bp.get("/dashboard/panels")
@page_auth()
def dashboard_panels() -> Response:
    days = _dashboard_days()
    version = account_version(current_user.id, days)
    if request.if_none_match.contains_weak(version):
        response = make_response("", 304)
    else:
        response = make_response(_render("_dashboard_panels.html", **_dashboard_figures(days)))
    response.set_etag(version, weak=True)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _dashboard_days() -> int:
    days = request.args.get("days", type=int)
    return days if days in DASHBOARD_DAYS else DASHBOARD_DAYS[0]


def _dashboard_figures(days: int) -> dict[str, Any]:
    summary = account_summary(current_user.id, days)
    per_day = [(day.day.isoformat(), day.usage_credits) for day in summary.per_day]
    per_model = [(row.key, row.cost_credits) for row in summary.by_model]
    notes = [f"{row.requests:,} request{'' if row.requests == 1 else 's'}"
             for row in summary.by_model]
    return {"summary": summary,
            "spent_chart": column_chart("spend-per-day", "Credits spent per day", per_day),
            "model_chart": bar_chart("spend-per-model", "Credits spent per model", per_model,
                                     notes=notes)}


@bp.get("/account")
@page_auth()
def account() -> str:
    return _render("account.html", **_account_forms())


def _account_forms(**overrides: Any) -> dict:
    forms = {"password_form": ChangePasswordForm(), "two_factor_form": TwoFactorForm(),
             "disable_form": TwoFactorDisableForm(), "action_form": ActionForm(),
             "sign_out_form": SignOutEverywhereForm(),
             "setup_uri": None, "setup_secret": None, "recovery_codes": None,  # nosec B105  # empty form slots, not a secret
             "recovery_left": two_factor.recovery_codes_left(current_user)}
    forms.update(overrides)
    return forms


@bp.post("/account/password")
@page_auth()
@rate_limited("password_check")
def account_password() -> Response | str:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.old_password.data, form.new_password.data,
                                     revoke_api_keys=form.revoke_api_keys.data)
        except HubError as exc:
            _fail(exc)
        else:
            # Every session was signed out, this one too: start a fresh one.
            start_session(User.get_by_id(current_user.id), remember=False)
            flash("Your password is changed; your other sessions are signed out.", "success")
            return redirect(url_for("pages.account"))
    return _render("account.html", **_account_forms(password_form=form))


@bp.post("/account/two-factor/setup")
@page_auth()
def two_factor_setup() -> Response | str:
    if not ActionForm().validate_on_submit():
        return redirect(url_for("pages.account"))
    try:
        secret, uri = two_factor.begin_setup(current_user)
    except HubError as exc:
        _fail(exc)
        return redirect(url_for("pages.account"))
    return _render("account.html", **_account_forms(setup_uri=uri, setup_secret=secret))


@bp.post("/account/two-factor/enable")
@page_auth()
def two_factor_enable() -> Response | str:
    form = TwoFactorForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(current_user, form.code.data)
        except HubError as exc:
            _fail(exc)
        else:
            # Every session of the account ended, this one too: start a fresh one.
            start_session(User.get_by_id(current_user.id), remember=False)
            flash("Two-factor sign-in is on. Keep your recovery codes somewhere safe.", "success")
            return _render("account.html", **_account_forms(recovery_codes=codes))
    return redirect(url_for("pages.account"))


@bp.post("/account/two-factor/disable")
@page_auth()
@rate_limited("password_check")
def two_factor_disable() -> Response:
    form = TwoFactorDisableForm()
    if form.validate_on_submit():
        try:
            accounts.disable_two_factor(current_user, form.password.data, form.code.data)
        except HubError as exc:
            _fail(exc)
        else:
            flash("Two-factor sign-in is off.", "success")
    return redirect(url_for("pages.account"))


@bp.post("/account/sign-out-everywhere")
@page_auth()
def sign_out_everywhere() -> Response:
    form = SignOutEverywhereForm()
    if form.validate_on_submit():
        auth_tokens.revoke_all_for_user(current_user, revoke_api_keys=form.revoke_api_keys.data)
        end_session()
        flash("You are signed out everywhere, here too.", "success")
    return redirect(url_for("pages.login"))


# --- API keys ------------------------------------------------------------------------------
@bp.get("/keys")
@page_auth()
def keys() -> str:
    return _render("keys.html", form=KeyForm(), action_form=ActionForm(), new_key=None,
                   keys=api_keys.list_keys(current_user))


@bp.post("/keys")
@page_auth()
def keys_create() -> str:
    form, new = KeyForm(), None
    if form.validate_on_submit():
        expires_at = datetime.combine(form.expires_on.data, time.min, tzinfo=UTC) \
            if form.expires_on.data else None
        models = [m.strip() for m in (form.allowed_models.data or "").split(",") if m.strip()]
        try:
            new = api_keys.create_key(current_user, form.name.data.strip(),
                                      expires_at=api_keys.naive_utc(expires_at),
                                      allowed_models=models or None,
                                      cap_total_credits=form.cap_total_credits.data,
                                      cap_monthly_credits=form.cap_monthly_credits.data)
        except HubError as exc:
            _fail(exc)
        else:
            form = KeyForm(formdata=None)
    return _render("keys.html", form=form, action_form=ActionForm(), keys=api_keys.list_keys(
        current_user), new_key=new.plaintext if new else None)


@bp.post("/keys/<int:key_id>/rotate")
@page_auth()
def keys_rotate(key_id: int) -> Response | str:
    if not ActionForm().validate_on_submit():
        return redirect(url_for("pages.keys"))
    try:
        new = api_keys.rotate_key(current_user, key_id,
                                  grace_s=current_settings().HUB_API_KEY_ROTATION_GRACE_S)
    except HubError as exc:
        _fail(exc)
        return redirect(url_for("pages.keys"))
    return _render("keys.html", form=KeyForm(formdata=None), action_form=ActionForm(),
                   keys=api_keys.list_keys(current_user), new_key=new.plaintext)


@bp.post("/keys/<int:key_id>/revoke")
@page_auth()
def keys_revoke(key_id: int) -> Response:
    if ActionForm().validate_on_submit():
        try:
            api_keys.revoke_key(current_user, key_id)
        except HubError as exc:
            _fail(exc)
        else:
            flash("The key is revoked.", "success")
    return redirect(url_for("pages.keys"))

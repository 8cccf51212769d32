"""Sign-in pages: email and password, registration, phone OTP, forgot password, sign-out, and
Google when ``GOOGLE_CLIENT_ID`` is set.

The same service calls as ``/api/auth`` (nibog.auth.service) and the same rate limits, counted
in the same buckets, so the site is no back door around the API's. A signed-in parent holds a
Flask-Login session cookie (HttpOnly, SameSite=Lax); a password change or reset ends it
everywhere (the token version rides in it, ``User.get_id``).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from nibog.auth import ratelimits as rl
from nibog.auth import service
from nibog.core.errors import AppError
from nibog.web import google_signin
from nibog.web.errors import attach
from nibog.web.forms import (
    ForgotPasswordForm,
    LoginForm,
    PhoneCodeForm,
    PhoneForm,
    RegisterForm,
)
from nibog.web.redirects import safe_next

bp = Blueprint("web_auth", __name__)


def _next() -> str:
    return safe_next(request.values.get("next"), url_for("web.home"))


def _signed_in(user, message: str | None = None):
    login_user(user)
    if message:
        flash(message, "success")
    return redirect(_next())


def _render(template: str, status: int = 200, **context):
    context.setdefault("google_enabled", bool(current_app.config.get("GOOGLE_CLIENT_ID")))
    context.setdefault("next", _next())
    return render_template(template, **context), status


# --- email and password -------------------------------------------------------------------------


@bp.get("/login")
def login():
    if current_user.is_authenticated:
        return redirect(_next())
    form = LoginForm(formdata=None, next=request.args.get("next", ""))
    return _render("web/auth/login.html", form=form)


@bp.post("/login")
@rl.login_per_ip
@rl.login_per_account
def login_submit():
    form = LoginForm()
    if not form.validate():
        return _render("web/auth/login.html", 422, form=form)
    try:
        user = service.authenticate(form.email.data, form.password.data)
    except AppError as exc:
        attach(form, exc)
        # 401 counts towards the account's failure budget (rl.login_per_account).
        return _render("web/auth/login.html", exc.status, form=form)
    return _signed_in(user)


@bp.get("/register")
def register():
    if current_user.is_authenticated:
        return redirect(_next())
    form = RegisterForm(formdata=None, next=request.args.get("next", ""))
    return _render("web/auth/register.html", form=form)


@bp.post("/register")
@rl.register_per_ip
def register_submit():
    form = RegisterForm()
    if not form.validate():
        return _render("web/auth/register.html", 422, form=form)
    try:
        user = service.register(
            email=form.email.data, password=form.password.data,
            full_name=form.full_name.data, phone=form.phone.data or None,
        )
    except AppError as exc:
        attach(form, exc)
        if exc.code in ("email_taken", "phone_taken"):
            field = form.email if exc.code == "email_taken" else form.phone
            field.errors = list(field.errors) + [form.form_errors.pop()]
        return _render("web/auth/register.html", exc.status, form=form)
    return _signed_in(user, _("Welcome to NIBOG, %(name)s!", name=user.full_name))


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("web.home"))


# --- phone OTP ----------------------------------------------------------------------------------


@bp.get("/login/phone")
def phone_login():
    form = PhoneForm(formdata=None, next=request.args.get("next", ""))
    return _render("web/auth/phone.html", form=form, step="phone")


@bp.post("/login/phone")
@rl.otp_request_per_ip
@rl.own_retry_after
def phone_login_submit():
    form = PhoneForm()
    if not form.validate():
        return _render("web/auth/phone.html", 422, form=form, step="phone")
    try:
        phone = service.request_phone_login(form.phone.data)
    except AppError as exc:
        attach(form, exc)
        if exc.status == 429:
            form.phone.errors = list(form.phone.errors) + form.form_errors
            form.form_errors.clear()
        return _render("web/auth/phone.html", 422 if exc.status == 429 else exc.status,
                       form=form, step="phone")
    code_form = PhoneCodeForm(formdata=None, phone=phone, next=form.next.data)
    flash(_("We sent a 6-digit code to %(phone)s.", phone=phone), "info")
    return _render("web/auth/phone.html", form=code_form, step="code", phone=phone)


@bp.post("/login/phone/verify")
@rl.otp_verify_per_ip
def phone_verify_submit():
    form = PhoneCodeForm()
    if not form.validate():
        return _render("web/auth/phone.html", 422, form=form, step="code", phone=form.phone.data)
    try:
        user = service.verify_phone_login(form.phone.data, form.otp.data.strip())
    except AppError as exc:
        attach(form, exc)
        form.otp.errors = list(form.otp.errors) + form.form_errors
        form.form_errors.clear()
        return _render("web/auth/phone.html", 422, form=form, step="code", phone=form.phone.data)
    return _signed_in(user)


# --- forgotten password -------------------------------------------------------------------------


@bp.get("/forgot-password")
def forgot_password():
    return _render("web/auth/forgot.html", form=ForgotPasswordForm(formdata=None), sent=False)


@bp.post("/forgot-password")
@rl.forgot_per_ip
@rl.forgot_per_email
def forgot_password_submit():
    form = ForgotPasswordForm()
    if not form.validate():
        return _render("web/auth/forgot.html", 422, form=form, sent=False)
    # The same answer whether or not the address has an account.
    service.request_password_reset(form.email.data)
    return _render("web/auth/forgot.html", form=form, sent=True)


# --- Google -------------------------------------------------------------------------------------

bp.add_url_rule("/login/google", "google_start", google_signin.start, methods=["GET"])
bp.add_url_rule("/login/google/callback", "google_callback", google_signin.callback,
                methods=["POST"])

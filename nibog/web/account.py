"""A parent's account on the site (``/account``): overview, profile, password, deletion.

Children, bookings, favourites and the waiting list are in ``account_children``,
``account_bookings`` and ``account_lists`` on the same blueprint. Every page needs a signed-in
parent (Flask-Login; ``login_manager.login_view`` sends others to sign in and back). Views parse
(Flask-WTF), call the service the API calls, and render; a refused change re-renders the form
with the values kept and the reason next to its field.
"""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from nibog.accounts import children as children_service
from nibog.accounts import service as accounts
from nibog.auth import ratelimits as rl
from nibog.auth import service as auth_service
from nibog.booking import overview
from nibog.catalog import service as catalog
from nibog.core.errors import AppError
from nibog.core.i18n import languages
from nibog.web.account_forms import DeleteAccountForm, PasswordForm, ProfileForm
from nibog.web.errors import attach

bp = Blueprint("web_account", __name__, url_prefix="/account")

# Service sentences shown next to a field, in the parent's language (services speak English).
FIELD_MESSAGES = {
    "Email cannot be removed": _l("An email address cannot be removed, only changed."),
    "Unknown city": _l("Choose a city from the list."),
    "Date of birth cannot be in the future": _l("The date of birth cannot be in the future."),
    "Date of birth cannot be more than 16 years ago": _l(
        "The date of birth cannot be more than 16 years ago."),
    "Choose a password you have not used here": _l(
        "Choose a new password, different from the current one."),
    "Your password is not right": _l("Your password is not right."),
    "Not a valid phone number": _l("Enter a 10-digit Indian mobile number."),
}


@bp.before_request
@login_required
def _signed_in():
    """Every account page is for a signed-in parent only (others go to sign in and back)."""


def show_error(form, exc: AppError, *, field_map: dict[str, str] | None = None) -> None:
    """``errors.attach``, then the service's field sentences put in the page's language."""
    attach(form, exc, field_map=field_map)
    for field in form:
        if field.errors:
            field.errors = [str(FIELD_MESSAGES.get(m, m)) for m in field.errors]


def cities() -> list[dict]:
    return json.loads(catalog.active_cities_json())


@bp.get("")
def index():
    user = current_user._get_current_object()
    upcoming = overview.bookings_page(user.id, 1, 3, "upcoming")
    kids = children_service.list_children(user)
    return render_template("web/account/index.html", upcoming=upcoming, children=kids,
                           city=next((c for c in cities() if c["id"] == user.city_id), None))


# --- profile ------------------------------------------------------------------------------------


def _profile_form(*, submitted: bool) -> ProfileForm:
    user = current_user
    if submitted:
        form = ProfileForm()
    else:
        form = ProfileForm(formdata=None, full_name=user.full_name, email=user.email,
                           phone=user.phone, city_id=user.city_id, language=user.language)
    form.set_choices(cities(), languages())
    return form


@bp.get("/profile")
def profile():
    return render_template("web/account/profile.html", form=_profile_form(submitted=False))


@bp.post("/profile")
def profile_submit():
    form = _profile_form(submitted=True)
    if not form.validate():
        return render_template("web/account/profile.html", form=form), 422
    changes = {"full_name": form.full_name.data, "phone": form.phone.data or None,
               "city_id": form.city_id.data, "language": form.language.data}
    if form.email.data or current_user.email:
        changes["email"] = form.email.data or None
    try:
        accounts.update_profile(current_user._get_current_object(), changes)
    except AppError as exc:
        show_error(form, exc)
        return render_template("web/account/profile.html", form=form), exc.status
    message = _("Your profile is saved.")
    if current_user.email and not current_user.email_verified and "email" in changes:
        message += " " + _("Please confirm your email address: use the button below.")
    flash(message, "success")
    return redirect(url_for("web_account.profile"), 303)


@bp.post("/verify-email")
@rl.forgot_per_ip
def verify_email():
    """Send (again) the link that confirms the account's email address."""
    if current_user.email and not current_user.email_verified:
        auth_service.request_email_verification(current_user._get_current_object())
        flash(_("A confirmation link is on its way to %(email)s.", email=current_user.email),
              "success")
    return redirect(url_for("web_account.profile"), 303)


# --- password -----------------------------------------------------------------------------------


@bp.get("/password")
def password():
    return render_template("web/account/password.html", form=PasswordForm(formdata=None))


@bp.post("/password")
@rl.login_per_ip
def password_submit():
    form = PasswordForm()
    if not current_user.password_hash:
        # Phone or Google accounts have no password to change: the page says how to set one.
        return render_template("web/account/password.html", form=form), 409
    if not form.validate():
        return render_template("web/account/password.html", form=form), 422
    user = current_user._get_current_object()
    try:
        auth_service.change_password(user, form.current_password.data, form.new_password.data)
    except AppError as exc:
        if exc.code == "invalid_credentials":
            form.current_password.errors = [_("Your current password is not right.")]
        else:
            show_error(form, exc)
        return render_template("web/account/password.html", form=form), exc.status
    # The change signs every browser out (the token version is in the session): this one
    # signs in again with the new version.
    login_user(user)
    flash(_("Your password is changed. Other devices have been signed out."), "success")
    return redirect(url_for("web_account.index"), 303)


# --- delete the account -------------------------------------------------------------------------


@bp.get("/delete")
def delete():
    return render_template("web/account/delete.html", form=DeleteAccountForm(formdata=None))


@bp.post("/delete")
@rl.login_per_ip
def delete_submit():
    form = DeleteAccountForm()
    valid = form.validate()
    if current_user.password_hash and not form.password.data:
        form.password.errors = [_("Enter your password to confirm.")]
        valid = False
    if not valid:
        return render_template("web/account/delete.html", form=form), 422
    try:
        accounts.close_account(current_user._get_current_object(), form.password.data)
    except AppError as exc:
        show_error(form, exc)
        return render_template("web/account/delete.html", form=form), exc.status
    logout_user()
    flash(_("Your account has been deleted. Thank you for playing with NIBOG."), "info")
    return redirect(url_for("web.home"), 303)


from nibog.web import account_bookings, account_children, account_lists  # noqa: E402, F401

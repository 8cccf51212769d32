"""The page behind the "reset your password" e-mail's link (``PUBLIC_BASE_URL/reset-password``).

A parent opens the link in a browser, not in the app, so the link needs a page: it asks for the
new password twice and sets it through the same service call as ``POST /api/auth/reset-password``
(same token rules, same password rule, same sign-out everywhere), on the site's layout and in
the visitor's language.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext as _

from nibog.auth import ratelimits as rl
from nibog.auth import service
from nibog.core.errors import AppError
from nibog.web.errors import attach, message_for
from nibog.web.forms import ResetPasswordForm
from nibog.web.link_pages import link_page

bp = Blueprint("password_reset", __name__)


def _page(status: int = 200, **context):
    return link_page("web/reset_password.html", status, **context)


def _bad_link(message: str):
    return _page(400, state="bad_link", message=message)


@bp.get("/reset-password")
def reset_password_form():
    token = request.args.get("token", "")
    if not token:
        return _bad_link(_("This link is incomplete. Copy the whole link from the e-mail, or "
                           "ask for a new one."))
    try:
        service.check_reset_link(token)
    except AppError as exc:
        return _bad_link(message_for(exc))
    return _page(form=ResetPasswordForm(formdata=None, token=token), state="form")


@bp.post("/reset-password")
@rl.forgot_per_ip
def reset_password_submit():
    form = ResetPasswordForm()  # the site-wide CSRF check has already run
    if not form.validate():
        if form.token.errors:
            return _bad_link(_("This link is incomplete. Copy the whole link from the e-mail, "
                               "or ask for a new one."))
        return _page(422, form=form, state="form")
    try:
        service.reset_password(form.token.data, form.password.data)
    except AppError as exc:
        if exc.code == "validation_error":
            attach(form, exc)
            return _page(422, form=form, state="form")
        return _bad_link(message_for(exc))
    return _page(state="done")

"""The page behind the "reset your password" e-mail's link (``PUBLIC_BASE_URL/reset-password``).

A parent opens the link in a browser, not in the app, so the link needs a page: it asks for the
new password twice and sets it through the same service call as ``POST /api/auth/reset-password``
(same token rules, same password rule, same sign-out everywhere). The full parent website comes
later; this page is what makes the e-mail work until then and stays when it arrives.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from marshmallow import ValidationError

from nibog.auth import ratelimits as rl
from nibog.auth import service
from nibog.auth.schemas import ResetPasswordSchema
from nibog.core.errors import AppError
from nibog.extensions import csrf
from nibog.web.link_pages import link_page

bp = Blueprint("password_reset", __name__)

_SCHEMA = ResetPasswordSchema()


def _page(status: int = 200, **context):
    return link_page("web/reset_password.html", status, **context)


@bp.get("/reset-password")
def reset_password_form():
    token = request.args.get("token", "")
    if not token:
        return _page(400, state="bad_link", message="This link is incomplete. "
                     "Ask for a new one from the app's sign-in screen.")
    try:
        service.check_reset_link(token)
    except AppError as exc:
        return _page(400, state="bad_link", message=exc.message)
    return _page(token=token, state="form")


@bp.post("/reset-password")
@rl.forgot_per_ip
def reset_password_submit():
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    token = request.form.get("token", "")
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        return _page(422, token=token, state="form", errors=["The two passwords differ"])
    try:
        data = _SCHEMA.load({"token": token, "password": password})
    except ValidationError as exc:
        errors = [m for msgs in exc.messages.values() for m in msgs]
        return _page(422, token=token, state="form", errors=errors)
    try:
        service.reset_password(data["token"], data["password"])
    except AppError as exc:
        return _page(400, state="bad_link", message=exc.message)
    return _page(state="done")

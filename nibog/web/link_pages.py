"""Pages opened from links in our e-mails: the token is in the address, so they are kept out of
caches and send no Referer.

``GET /api/auth/verify-email?token=`` is the contract's confirmation endpoint and answers JSON to
clients; a parent who clicks the e-mailed link in a mail app gets a page instead (the browser
asks for HTML first). The link works once, so a confirmation goes on to ``/email-confirmed``
(redirect after the change): reloading it or switching its language does not spend the link
again. That address carries the confirmed e-mail signed for an hour (requests under /api have no
cookie session to keep it in).
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from nibog.core.errors import AppError
from nibog.web.errors import message_for
from nibog.web.setup import CSP

bp = Blueprint("web_links", __name__)

CONFIRMED_SALT = "nibog.email-confirmed"
CONFIRMED_MAX_AGE = 3600
# The site's page headers (nibog.web.setup), which addresses under /api do not get.
_API_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def browser_wants_html() -> bool:
    """HTML preferred over JSON by the Accept header; no header means a client: JSON."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def link_page(template: str, status: int = 200, **context):
    resp = current_app.make_response((render_template(template, **context), status))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    if request.path.startswith("/api"):
        for name, value in _API_PAGE_HEADERS.items():
            resp.headers.setdefault(name, value)
    return resp


def email_link_failed(exc: AppError):
    """The verification link refused (used, expired, forged): said where it was opened."""
    return link_page("web/email_verified.html", exc.status, ok=False, message=message_for(exc))


def _confirmed_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=CONFIRMED_SALT)


def email_link_confirmed(email: str):
    stamp = _confirmed_signer().dumps(email)
    return redirect(url_for("web_links.email_confirmed", t=stamp), 303)


@bp.get("/email-confirmed")
def email_confirmed():
    try:
        email = _confirmed_signer().loads(request.args.get("t", ""), max_age=CONFIRMED_MAX_AGE)
    except BadSignature:  # expired too: nothing to show, and nothing went wrong
        return redirect(url_for("web.home"))
    return link_page("web/email_verified.html", ok=True, message=_(
        "Thank you: %(email)s is confirmed as your NIBOG address.", email=email))

"""What a browser sees when it opens a link from one of our e-mails at an API address.

``GET /api/auth/verify-email?token=`` is the contract's confirmation endpoint and answers JSON to
clients; a parent who clicks the e-mailed link in a mail app gets this page instead (the browser
asks for HTML first), not a JSON document.
"""

from __future__ import annotations

from flask import current_app, render_template, request


def browser_wants_html() -> bool:
    """HTML preferred over JSON by the Accept header; no header means a client: JSON."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def link_page(template: str, status: int = 200, **context):
    """A page opened from an e-mailed link: its token is in the address, so the page is kept
    out of caches and sends no Referer."""
    resp = current_app.make_response((render_template(template, **context), status))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def email_verified_page(*, ok: bool, message: str, status: int):
    return link_page("web/email_verified.html", status, ok=ok, message=message)

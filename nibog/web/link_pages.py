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


def email_verified_page(*, ok: bool, message: str, status: int):
    resp = current_app.make_response(
        (render_template("web/email_verified.html", ok=ok, message=message), status)
    )
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp

"""What every HTML page shares: CSRF on by default, the sign-in session, security headers,
fingerprinted static files and the small helpers templates use.

The JSON API and webhooks are token- or signature-authenticated and exempt from CSRF (their
blueprints are exempted when registered, ``nibog/__init__.py``); every other POST needs the
form's ``csrf_token``.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from nibog.extensions import login_manager
from nibog.web import prefs
from nibog.web.errors import error_message
from nibog.web.redirects import safe_next

# A fingerprinted URL never changes content, so browsers may keep it for a year.
LONG_CACHE_SECONDS = 365 * 24 * 3600
_TOKEN_ONLY = ("/api/", "/webhooks/")

# No inline scripts or styles anywhere: everything comes from static/.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)

_fingerprints: dict[str, str] = {}


def static_url(filename: str) -> str:
    """``/static/<file>?v=<content hash>``: a new deploy changes the URL of a changed file."""
    version = _fingerprints.get(filename)
    if version is None or current_app.debug:
        path = f"{current_app.static_folder}/{filename}"
        try:
            with open(path, "rb") as fh:
                version = hashlib.sha256(fh.read()).hexdigest()[:12]
        except OSError:
            version = "0"
        _fingerprints[filename] = version
    return url_for("static", filename=filename, v=version)


def current_path() -> str:
    """This page's path and query, for a form's ``next`` (no bare trailing "?")."""
    return request.full_path.rstrip("?")


def url_with(**changes) -> str:
    """The current page's URL with some query arguments changed (pagination, filters)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [value]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _headers(response):
    path = request.path
    if path.startswith(_TOKEN_ONLY) or path.startswith("/api"):
        # JSON answers keep the API's exact header set (the full-slot gate answers some of
        # them before Flask, identically).
        return response
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.endpoint == "static" and request.args.get("v"):
        response.cache_control.no_cache = None  # send_file's default, for unversioned URLs
        response.cache_control.public = True
        response.cache_control.max_age = LONG_CACHE_SECONDS
        response.cache_control.immutable = True
        return response
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def _csrf_refused(exc: CSRFError):
    if request.path.startswith(_TOKEN_ONLY):
        raise exc  # never reached: those blueprints are exempt
    message = _l("This form was open too long or came from another site. "
                 "Please go back, reload the page and send it again.")
    return render_template("errors/error.html", status=400, message=message), 400


def init_web(app: Flask) -> None:
    app.config["WTF_CSRF_CHECK_DEFAULT"] = True
    # Tokens live as long as the session: a parent filling a form slowly is not refused.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    if app.config.get("ENV_NAME") == "production":
        app.config.setdefault("SESSION_COOKIE_SECURE", True)
        app.config.setdefault("REMEMBER_COOKIE_SECURE", True)

    login_manager.login_view = "web_auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"

    app.jinja_env.globals.update(static_url=static_url, url_with=url_with, current_path=current_path,
                                 error_message=error_message)
    prefs.init_app(app)
    app.after_request(_headers)
    app.register_error_handler(CSRFError, _csrf_refused)


def back_to(target: str | None, default: str = "/", message: str | None = None):
    if message:
        flash(message, "success")
    return redirect(safe_next(target, default))

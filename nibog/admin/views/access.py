"""Who may open which dashboard page: the Flask-Login session and the account's role.

- anonymous → redirect to the shared sign-in page (``/login?next=…``);
- a parent → the 403 page;
- ``staff`` → every ``READ`` page and the ``OPERATE`` actions (bookings, check-in, attendance
  and results, messages); ``admin`` → everything, including the ``ADMIN`` writes (catalog,
  money, user administration).

The account row is read on every request (Flask-Login's user loader), so a deactivated account
is signed out and a demoted admin loses the pages at the next click. A session idle for longer
than ``ADMIN_SESSION_IDLE_MINUTES`` is signed out as well: tablets lie around at venues.
Routes state their level with ``@allow(...)``; one without it is refused to everybody.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.routing import BuildError

from nibog.admin.views import bp
from nibog.catalog.admin_service import Actor
from nibog.core.client_ip import client_ip
from nibog.core.errors import AppError, error_response, wants_json
from nibog.extensions import csrf

READ = "read"
OPERATE = "operate"
ADMIN = "admin"
LEVELS: dict[str, frozenset[str]] = {
    READ: frozenset({"admin", "staff"}),
    OPERATE: frozenset({"admin", "staff"}),
    ADMIN: frozenset({"admin"}),
}
DASHBOARD_ROLES = frozenset({"admin", "staff"})
_SEEN_KEY = "admin_seen"


def allow(level: str) -> Callable:
    """Declare the level a dashboard route needs (``READ``, ``OPERATE`` or ``ADMIN``)."""
    if level not in LEVELS:
        raise ValueError(f"unknown access level {level!r}")

    def decorator(fn: Callable) -> Callable:
        fn.admin_access = level
        return fn

    return decorator


def level_of(endpoint: str | None) -> str | None:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "admin_access", None)


def can(level: str) -> bool:
    """For templates: show a button only to those who may press it."""
    return current_user.is_authenticated and current_user.role in LEVELS[level]


def actor() -> Actor:
    """The signed-in user as the services' audit actor."""
    return Actor(id=current_user.id, ip=client_ip())


def login_url(next_url: str) -> str:
    try:
        base = url_for("web_auth.login")
    except BuildError:  # the parent site's sign-in page is not registered (yet)
        base = "/login"
    return f"{base}?{urlencode({'next': next_url})}"


def _next_url() -> str:
    if request.method == "GET":
        return request.full_path.rstrip("?")
    return url_for("admin_web.dashboard") if "admin_web.dashboard" in current_app.view_functions \
        else "/admin/"


def _idle_expired() -> bool:
    limit = int(current_app.config.get("ADMIN_SESSION_IDLE_MINUTES", 60)) * 60
    now = int(time.time())
    seen = session.get(_SEEN_KEY)
    if isinstance(seen, int) and limit > 0 and now - seen > limit:
        return True
    if not isinstance(seen, int) or now - seen >= 30:  # rewrite the cookie at most twice a minute
        session[_SEEN_KEY] = now
    return False


@bp.before_request
def gate():
    if not current_user.is_authenticated:
        return redirect(login_url(_next_url()))
    if current_user.role not in DASHBOARD_ROLES:
        return render_template("admin/forbidden.html"), 403
    if _idle_expired():
        logout_user()
        session.pop(_SEEN_KEY, None)
        flash(_("You were signed out after a period of inactivity. Please sign in again."))
        return redirect(login_url(_next_url()))
    level = level_of(request.endpoint)
    if level is None or current_user.role not in LEVELS[level]:
        abort(403)
    if request.method not in ("GET", "HEAD", "OPTIONS") and current_app.config.get(
        "WTF_CSRF_ENABLED", True
    ):
        csrf.protect()
    g.admin_level = level


@bp.after_request
def private_pages(response):
    # Pages full of parents' names and phone numbers: never cached, never framed.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


@bp.app_template_global("admin_can")
def _admin_can(level: str) -> bool:
    return can(level)


@bp.errorhandler(AppError)
def app_error(exc: AppError):
    if wants_json():
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
    return render_template("admin/error.html", status=exc.status, message=exc.message), exc.status


@bp.errorhandler(403)
def forbidden(_exc):
    return render_template(
        "admin/error.html", status=403,
        message=_("Your role does not allow this. Ask an administrator if you need it."),
    ), 403


@bp.errorhandler(404)
def not_found(_exc):
    return render_template(
        "admin/error.html", status=404, message=_("This page or record does not exist."),
    ), 404

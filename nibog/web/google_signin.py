""""Sign in with Google" without Google's script (no third-party JavaScript on our pages).

The button leads to Google's OpenID Connect page asking for an ID token posted back to
``/login/google/callback`` (``response_mode=form_post``). That POST comes from Google's site, so
it carries no CSRF token and no SameSite=Lax cookie: what binds it to the browser that started
is a signed ``state`` holding a nonce, the same nonce in a short-lived cookie sent cross-site
(SameSite=None; Secure over HTTPS) and inside the ID token itself. The token is then checked
and turned into an account by the API's own service call (nibog.auth.service.google_login).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from nibog.auth import google, service
from nibog.core.errors import AppError
from nibog.core.secrets_compare import constant_time_equal
from nibog.extensions import csrf
from nibog.web.errors import message_for
from nibog.web.redirects import safe_next

GOOGLE_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
NONCE_COOKIE = "g_nonce"
STATE_MAX_AGE = 600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="web-google-state")


def _callback_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/login/google/callback"


def start():
    client_id = current_app.config.get("GOOGLE_CLIENT_ID")
    if not client_id:
        abort(404)
    nonce = secrets.token_urlsafe(24)
    state = _serializer().dumps({"n": nonce, "next": safe_next(request.args.get("next"))})
    params = {
        "client_id": client_id, "redirect_uri": _callback_url(), "response_type": "id_token",
        "response_mode": "form_post", "scope": "openid email profile", "nonce": nonce,
        "state": state, "prompt": "select_account",
    }
    resp = redirect(f"{GOOGLE_AUTH_URL}?{urlencode(params)}")
    secure = request.is_secure or current_app.config.get("ENV_NAME") == "production"
    resp.set_cookie(NONCE_COOKIE, nonce, max_age=STATE_MAX_AGE, httponly=True, secure=secure,
                    samesite="None" if secure else "Lax", path="/login/google")
    return resp


@csrf.exempt
def callback():
    if not current_app.config.get("GOOGLE_CLIENT_ID"):
        abort(404)
    try:
        state = _serializer().loads(request.form.get("state", ""), max_age=STATE_MAX_AGE)
    except BadSignature:
        return _failed(_("The Google sign-in took too long or was not started here."))
    cookie = request.cookies.get(NONCE_COOKIE, "")
    token = request.form.get("id_token", "")
    try:
        claims = google.verify_id_token(token)
        if not (cookie and constant_time_equal(cookie, state["n"])
                and constant_time_equal(str(claims.get("nonce", "")), state["n"])):
            return _failed(_("The Google sign-in was not started in this browser."))
        user = service.google_login(token)
    except AppError as exc:
        return _failed(message_for(exc))
    login_user(user)
    resp = redirect(safe_next(state.get("next")))
    resp.delete_cookie(NONCE_COOKIE, path="/login/google")
    return resp


def _failed(message: str):
    flash(message, "error")
    return redirect(url_for("web_auth.login"))

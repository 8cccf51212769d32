"""Rate limits of the sign-in endpoints (Flask-Limiter on Redis; memory without Redis).

Limits are read from config at request time so deployments (and tests) can tune them. The
client IP comes from ``nibog.core.client_ip`` (ProxyFix-aware), so a forged ``X-Forwarded-For``
is ignored unless a trusted proxy count is configured.
"""

from __future__ import annotations

from functools import wraps

from flask import current_app, request

from nibog.core.client_ip import client_ip
from nibog.core.errors import AppError
from nibog.extensions import limiter


def _setting(name: str):
    return lambda: current_app.config[name]


def _json_field(name: str) -> str:
    """The field from the JSON body (the API) or the posted form (the site's pages), so a
    parent's account has one failure budget whichever face is used."""
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        value = body.get(name)
    else:
        value = request.form.get(name)
    return str(value).strip().lower() if value else "-"


def _account_key() -> str:
    return f"account:{_json_field('email')}"


def _failed(response) -> bool:
    return response.status_code == 401


# Shared limits: Flask-Limiter keys a plain ``limit`` by endpoint, so the site's form and the
# API's route would each have a budget of their own and together allow twice the tries. A
# shared limit is one bucket per scope, whichever face (or route) the request comes through.
login_per_ip = limiter.shared_limit(
    _setting("RATELIMIT_LOGIN_IP"), key_func=client_ip, scope="login-ip"
)
# Only failures count, so a parent who logs in correctly is never locked out by their own use;
# the 11th wrong password in 15 minutes (from any IP) gets 429, and so does a correct one then.
login_per_account = limiter.shared_limit(
    _setting("RATELIMIT_LOGIN_ACCOUNT"),
    key_func=_account_key,
    scope="login-account",
    deduct_when=_failed,
)
register_per_ip = limiter.shared_limit(
    _setting("RATELIMIT_REGISTER"), key_func=client_ip, scope="register-ip"
)
otp_request_per_ip = limiter.shared_limit(
    _setting("RATELIMIT_OTP_REQUEST"), key_func=client_ip, scope="otp-request-ip"
)
otp_verify_per_ip = limiter.shared_limit(
    _setting("RATELIMIT_OTP_VERIFY"), key_func=client_ip, scope="otp-verify-ip"
)
forgot_per_ip = limiter.shared_limit(
    _setting("RATELIMIT_FORGOT_PASSWORD"), key_func=client_ip, scope="forgot-ip"
)
forgot_per_email = limiter.shared_limit(
    _setting("RATELIMIT_FORGOT_PASSWORD"),
    key_func=lambda: f"forgot:{_json_field('email')}",
    scope="forgot-email",
)


def own_retry_after(fn):
    """For views that raise their own 429 with an exact Retry-After (the OTP resend gap, a
    number's codes or wrong guesses this hour: requesting and checking codes).

    Flask-Limiter would otherwise rewrite Retry-After on the way out to the reset time of the
    view's (unbreached) per-IP window - an hour away - and send the client to sleep for nothing.
    """

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AppError as exc:
            if exc.status == 429:
                limiter.context.view_rate_limit = None
            raise

    return wrapper

"""Google ID token verification with google-auth: signature (Google's keys), issuer, audience
(``GOOGLE_CLIENT_ID``) and expiry.

Where the keys come from is injectable: ``app.extensions["nibog_google_certs"]`` may hold a
callable returning ``{key_id: PEM certificate or public key}``. Tests put a local key there, so no
test touches the network; production fetches Google's published certificates and caches them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from flask import current_app
from google.auth import exceptions as google_exceptions
from google.auth import jwt as google_jwt

from nibog.core.errors import AppError

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CERTS_CACHE_SECONDS = 3600
CLOCK_SKEW_SECONDS = 10

_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"certs": None, "fetched": 0.0}


def fetch_google_certs() -> dict[str, str]:
    """Google's signing certificates, cached for an hour (they rotate over days)."""
    with _cache_lock:
        if _cache["certs"] and time.monotonic() - _cache["fetched"] < CERTS_CACHE_SECONDS:
            return _cache["certs"]
    import requests

    response = requests.get(GOOGLE_CERTS_URL, timeout=5)
    response.raise_for_status()
    certs = response.json()
    with _cache_lock:
        _cache.update(certs=certs, fetched=time.monotonic())
    return certs


def _certs_source() -> Callable[[], dict[str, str]]:
    return current_app.extensions.get("nibog_google_certs") or fetch_google_certs


def verify_id_token(token: str) -> dict[str, Any]:
    """The verified claims of a Google ID token, or 401 ``invalid_token``."""
    client_id = current_app.config.get("GOOGLE_CLIENT_ID")
    if not client_id:
        raise AppError("google_sign_in_disabled", "Google sign-in is not configured", 503)
    try:
        certs = _certs_source()()
    except Exception:  # noqa: BLE001 - a key-server outage is ours, not the client's fault
        raise AppError(
            "service_unavailable", "Google sign-in is unavailable; try again shortly", 503
        ) from None
    try:
        claims = google_jwt.decode(
            token, certs=certs, audience=client_id, clock_skew_in_seconds=CLOCK_SKEW_SECONDS
        )
    except (ValueError, google_exceptions.GoogleAuthError) as exc:
        message = (
            "Google token has expired"
            if "expired" in str(exc).lower()
            else ("Google token is not valid")
        )
        raise AppError("invalid_token", message, 401) from None
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise AppError("invalid_token", "Google token is not valid", 401)
    if not claims.get("sub"):
        raise AppError("invalid_token", "Google token is not valid", 401)
    return claims

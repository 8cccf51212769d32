"""Google ID token verification through google-auth's ``id_token.verify_oauth2_token``:
signature against Google's published certificates, issuer, audience (``GOOGLE_CLIENT_ID``) and
expiry, all checked by the library.

google-auth fetches the certificates on every call unless the transport caches them; the
transport here does, for as long as Google's ``Cache-Control: max-age`` says (an hour when it says
nothing). Google rotates its keys, and a token signed with a key newer than the cached set names
a key id the cache lacks: then the certificates are fetched again, once, and the token checked
again - instead of refusing every new sign-in until the cache expires. A forced refetch happens
at most every ``REFETCH_MIN_SECONDS`` so made-up key ids cannot turn us into a load on Google.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from flask import current_app
from google.auth import exceptions as google_exceptions
from google.auth import transport
from google.auth.transport import requests as google_requests
from google.oauth2 import id_token

from nibog.core.errors import AppError

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
DEFAULT_MAX_AGE = 3600
REFETCH_MIN_SECONDS = 10
CLOCK_SKEW_SECONDS = 10
_MAX_AGE = re.compile(r"max-age=(\d+)")


def _now() -> float:
    return time.monotonic()


class CachingCertsRequest(transport.Request):
    """A google-auth transport that answers repeated GETs of the certificate URL from memory."""

    def __init__(self) -> None:
        self._inner = google_requests.Request()
        self._lock = threading.Lock()
        self._cached: dict[str, tuple[float, float, Any]] = {}  # url -> (fetched, expires, resp)

    def __call__(self, url, method="GET", body=None, headers=None, timeout=5, **kwargs):
        if method != "GET":
            return self._inner(url, method=method, body=body, headers=headers, timeout=timeout,
                               **kwargs)
        with self._lock:
            hit = self._cached.get(url)
            if hit is not None and hit[1] > _now():
                return hit[2]
        response = self._inner(url, method="GET", headers=headers, timeout=timeout, **kwargs)
        if response.status == 200:
            control = (response.headers or {}).get("cache-control", "")
            match = _MAX_AGE.search(control)
            max_age = int(match.group(1)) if match else DEFAULT_MAX_AGE
            with self._lock:
                self._cached[url] = (_now(), _now() + max_age, response)
        return response

    def refetch_allowed(self, url: str) -> bool:
        """Drop the cached answer for ``url`` unless it was fetched a moment ago."""
        with self._lock:
            hit = self._cached.get(url)
            if hit is not None and _now() - hit[0] < REFETCH_MIN_SECONDS:
                return False
            self._cached.pop(url, None)
            return True

    def clear(self) -> None:
        with self._lock:
            self._cached.clear()


CERTS = CachingCertsRequest()


def _unknown_key(exc: Exception) -> bool:
    return "Certificate for key id" in str(exc) and "not found" in str(exc)


def _verify(token: str, client_id: str) -> dict[str, Any]:
    try:
        return id_token.verify_oauth2_token(
            token, CERTS, audience=client_id, clock_skew_in_seconds=CLOCK_SKEW_SECONDS
        )
    except (ValueError, google_exceptions.GoogleAuthError) as exc:
        if _unknown_key(exc) and CERTS.refetch_allowed(GOOGLE_CERTS_URL):
            # Keys rotated since the cache was filled: one fresh look.
            return id_token.verify_oauth2_token(
                token, CERTS, audience=client_id, clock_skew_in_seconds=CLOCK_SKEW_SECONDS
            )
        raise


def verify_id_token(token: str) -> dict[str, Any]:
    """The verified claims of a Google ID token, or 401 ``invalid_token``."""
    client_id = current_app.config.get("GOOGLE_CLIENT_ID")
    if not client_id:
        raise AppError("google_sign_in_disabled", "Google sign-in is not configured", 503)
    try:
        claims = _verify(token, client_id)
    except google_exceptions.TransportError:
        # A key-server outage is ours, not the client's fault.
        raise AppError(
            "service_unavailable", "Google sign-in is unavailable; try again shortly", 503
        ) from None
    except (ValueError, google_exceptions.GoogleAuthError) as exc:
        message = (
            "Google token has expired" if "expired" in str(exc).lower()
            else "Google token is not valid"
        )
        raise AppError("invalid_token", message, 401) from None
    if not claims.get("sub"):
        raise AppError("invalid_token", "Google token is not valid", 401)
    return claims

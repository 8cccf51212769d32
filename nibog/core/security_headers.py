"""Security headers on every response, and CORS for the configured origins only.

One after-request hook (the full-slot gate, which answers before Flask, calls ``apply`` too):

- ``Content-Security-Policy``: our own origin only, no inline script, no framing, no plugins.
  The pages carry no inline script or style; the Swagger UI page (``/api/docs``, flask-smorest's
  template) loads its bundle from ``OPENAPI_SWAGGER_UI_URL`` and starts it with one inline
  script, which is allowed there by its hash - never ``'unsafe-inline'``;
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy`` (a page may set a stricter one),
  ``X-Frame-Options: DENY`` for browsers older than ``frame-ancestors``;
- ``Strict-Transport-Security`` when ``SECURITY_HSTS`` is on (production);
- CORS: an ``Origin`` listed in ``CORS_ORIGINS`` gets ``Access-Control-Allow-Origin`` on
  ``/api`` responses (and its preflight the methods and headers); any other origin gets
  nothing, so browsers keep other sites' scripts out. Tokens travel in a header, never a
  cookie: no credentials are allowed.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import Flask, Response, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID, Accept-Language"
CORS_EXPOSE = "Idempotent-Replayed, Retry-After, X-Request-ID"
CORS_MAX_AGE = "600"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def allowed_origins(app: Flask) -> set[str]:
    raw = app.config.get("CORS_ORIGINS") or ""
    return {o.strip().rstrip("/") for o in raw.split(",") if o.strip()}


def _docs_csp(app: Flask, body: bytes) -> str:
    """The Swagger UI page: its CDN, and its own inline script by hash."""
    parts = urlsplit(app.config.get("OPENAPI_SWAGGER_UI_URL") or "")
    cdn = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(body)
    )
    return (
        f"default-src 'self'; script-src 'self' {cdn} {hashes}; style-src 'self' {cdn}; "
        f"img-src 'self' data: {cdn}; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def apply(app: Flask, response: Response, *, path: str, origin: str | None,
          method: str = "GET") -> Response:
    headers = response.headers
    docs = path == f"{app.config.get('OPENAPI_URL_PREFIX', '/api')}" \
        f"{app.config.get('OPENAPI_SWAGGER_UI_PATH', '/docs')}"
    if docs and response.mimetype == "text/html" and not response.is_streamed:
        headers["Content-Security-Policy"] = _docs_csp(app, response.get_data())
    else:
        headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if app.config.get("SECURITY_HSTS"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if path.startswith("/api/"):
        _cors(app, response, origin, method)
    return response


def _cors(app: Flask, response: Response, origin: str | None, method: str) -> None:
    response.vary.add("Origin")
    if not origin or origin.rstrip("/") not in allowed_origins(app):
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
    if method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE


def install_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        return apply(app, response, path=request.path, origin=request.headers.get("Origin"),
                     method=request.method)

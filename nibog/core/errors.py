"""One error type, one JSON shape for every /api and /webhooks error.

``{"error": {"code": "slot_full", "message": "...", "details": {...}}}``
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from nibog.core.observability import report_exception
from nibog.extensions import db, limiter

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api", "/webhooks")

_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class AppError(Exception):
    """A failure a client can act on: status, machine-readable code, human message."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}
        self.headers = headers or {}


class NotFound(AppError):
    def __init__(self, what: str = "Resource"):
        super().__init__("not_found", f"{what} not found", 404)


class Conflict(AppError):
    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(code, message, 409, details)


class ValidationFailed(AppError):
    def __init__(self, details: dict[str, list[str]], message: str = "Invalid input"):
        super().__init__("validation_error", message, 422, details)


def json_object(raw: bytes) -> dict:
    """A raw body that must be one JSON object (webhooks read it raw to check a signature)."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise AppError("bad_request", "Request body is not valid JSON", 400) from None
    if not isinstance(body, dict):
        raise AppError("bad_request", "Request body must be a JSON object", 400)
    return body


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or (
        request.accept_mimetypes.best == "application/json"
    )


def error_response(
    status: int, code: str, message: str, details: dict | None = None, headers: dict | None = None
):
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    resp = jsonify(body)
    resp.status_code = status
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def _flatten_webargs(messages: dict) -> dict[str, list]:
    """webargs nests errors by location ({"json": {"field": [...]}}); clients want field → msgs."""
    flat: dict[str, list] = {}
    for location_errors in messages.values():
        if isinstance(location_errors, dict):
            for field, errs in location_errors.items():
                flat[field] = errs if isinstance(errs, (list, dict)) else [str(errs)]
        else:
            flat.setdefault("_schema", []).extend(location_errors)
    return flat


def http_exception_to_response(exc: HTTPException):
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    headers = {}
    if status == 429:
        headers["Retry-After"] = str(_retry_after(exc))
    if status == 405 and exc.get_response().headers.get("Allow"):
        headers["Allow"] = exc.get_response().headers["Allow"]
    if isinstance(data, dict) and "messages" in data:
        details = _flatten_webargs(data["messages"])
        schema_errs = details.get("_schema") or []
        if status == 422 and any("Invalid input type" in str(m) for m in schema_errs):
            return error_response(400, "bad_request", "Request body must be a JSON object")
        if status == 400:
            return error_response(400, "bad_request", "Request body is not valid JSON", details)
        return error_response(status, "validation_error", "Invalid input", details)
    code = _DEFAULT_CODES.get(status, "error")
    message = data.get("message") if isinstance(data, dict) and data.get("message") else None
    if status == 404:
        message = message or "Not found"
    elif status == 413:
        message = "Request body is too large"
    elif status == 429:
        message = "Too many requests; try again later"
    return error_response(status, code, message or exc.description or exc.name, headers=headers)


def _retry_after(exc: HTTPException) -> int:
    limit = getattr(exc, "limit", None)
    try:
        window = limiter.current_limit
        if window is not None:
            import time

            return max(1, int(window.reset_at - time.time()))
    except Exception:  # noqa: BLE001 - Retry-After is best effort, never a second failure
        pass
    if limit is not None and getattr(limit, "limit", None) is not None:
        return int(limit.limit.get_expiry())
    return 60


def refusal_for(exc: Exception) -> AppError | None:
    """A failure only a lower layer notices, answered as such instead of a 500: JSON nested
    deeper than the parser's recursion limit, text with a NUL character (valid JSON, refused by
    PostgreSQL when it is written), a row lock not granted within the lock timeout, a database
    connection lost mid-request, Redis unreachable."""
    if isinstance(exc, RecursionError):
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.replace("\\", "/").endswith(
                ("/json/decoder.py", "/json/__init__.py")
            ):
                return AppError("bad_request", "Request body is nested too deeply", 400)
            tb = tb.tb_next
        return None
    if getattr(getattr(exc, "orig", None), "pgcode", None) == LOCK_NOT_AVAILABLE:
        # A row lock waited past DB_LOCK_TIMEOUT_MS (nibog.core.locking): nothing was kept.
        return AppError(
            "busy", "Too many people are booking this right now; please try again in a moment",
            503, headers={"Retry-After": "2"},
        )
    if _redis_unreachable(exc):
        # Redis holds the token revocations, the full-slot marks and the job queue: without it
        # a request is refused cleanly (fail closed) and retried, rather than a 500.
        return AppError(
            "service_unavailable", "A service we depend on is unavailable; please try again "
            "in a moment", 503, headers={"Retry-After": "2"},
        )
    if getattr(exc, "connection_invalidated", False):
        # The database connection died under the request (a restart, a failover, a killed
        # backend): its transaction rolled back with it, and the pool replaces the connection.
        # A retry (with the same Idempotency-Key) is the answer, not a 500.
        return AppError(
            "service_unavailable",
            "The connection to the database was lost; please try again in a moment",
            503, headers={"Retry-After": "1"},
        )
    for cause in (exc, getattr(exc, "orig", None), exc.__cause__):
        if isinstance(cause, ValueError) and "NUL (0x00)" in str(cause):
            return ValidationFailed({"_schema": ["Text may not contain NUL (0x00) characters"]})
    return None


LOCK_NOT_AVAILABLE = "55P03"


def _redis_unreachable(exc: Exception) -> bool:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, RedisConnectionError | RedisTimeoutError)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def handle_app_error(exc: AppError):
        if wants_json():
            return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
        # The page says it in the visitor's language by code (the web layer's error_message).
        return render_template(
            "errors/error.html", status=exc.status, code=exc.code, message=exc.message
        ), exc.status

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        if wants_json():
            return http_exception_to_response(exc)
        return render_template(
            "errors/error.html", status=exc.code, message=exc.description
        ), exc.code or 500

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return handle_http(exc)
        refusal = refusal_for(exc)
        if refusal is not None:
            db.session.rollback()
            return handle_app_error(refusal)
        log.exception("unhandled error")
        # Handled here, so Flask never signals it: the error tracker is told directly.

        report_exception(exc)

        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001
            pass
        if wants_json():
            return error_response(500, "internal_error", "Something went wrong on our side")
        return render_template(
            "errors/error.html", status=500, code="internal_error",
            message="Something went wrong on our side",
        ), 500

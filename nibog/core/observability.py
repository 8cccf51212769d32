"""Per-request observation (metrics, one JSON access-log line) and error tracking (Sentry).

``RequestObserver`` is the outermost WSGI layer, so it also times the answers the full-slot gate
gives before Flask. Per request it costs two clock reads, one dict lookup per metric (the label
children are cached) and, with ``ACCESS_LOG`` on, one ``json.dumps`` and one write: no per-request
label building, no regex. The route label is the URL rule's template (``/api/events/<int:id>``),
never the path, and unmatched paths share one label, so a scan of random URLs adds no series.

The access log line carries the request id, method, route template, status, duration and the
user id when a token or page session identified one - never the path's values, the query string
or a header: e-mailed links carry tokens in their paths, search boxes carry phone numbers.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, request

from nibog.core import metrics

UNMATCHED = "<unmatched>"
_ROUTE_KEY = "nibog.route"
_USER_KEY = "nibog.user_id"


def remember_route(environ: dict, route: str) -> None:
    """For WSGI layers that answer before Flask (the full-slot gate)."""
    environ[_ROUTE_KEY] = route


class AccessLog:
    """Writes the access lines straight to a stream, one flushed line each.

    Not through ``logging``: a record, a formatter and ``json.dumps`` cost ~15 us a line, a third
    of what the full-slot gate spends answering a request in a sales burst. Every field is either
    a number or comes from a known-safe set (route templates, the request id as
    ``core.logging.request_id_for`` vetted it, HTTP method tokens), so the JSON is formatted
    directly; anything unexpected goes through ``json.dumps``.
    """

    def __init__(self, stream) -> None:
        self.stream = stream
        self._lock = threading.Lock()
        self._second = -1
        self._prefix = ""

    def _time(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._prefix}.{int((now - second) * 1000):03d}Z"

    def write(self, request_id, method, route, status, elapsed, user_id) -> None:
        line = (
            f'{{"time":"{self._time()}","level":"INFO","name":"nibog.access",'
            f'"request_id":{_json_str(request_id)},"method":{_json_str(method)},'
            f'"route":{_json_str(route)},"status":{int(status)},'
            f'"duration_ms":{elapsed * 1000:.2f},'
            f'"user_id":{int(user_id) if user_id is not None else "null"}}}\n'
        )
        with self._lock:
            self.stream.write(line)
            self.stream.flush()


_PLAIN = re.compile(r"^[A-Za-z0-9._<>:/ -]*$")


def _json_str(value) -> str:
    if value is None:
        return "null"
    return f'"{value}"' if _PLAIN.match(value) else json.dumps(value)


class RequestObserver:
    def __init__(self, app: Flask, wsgi_app, *, access_log: AccessLog | None) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.access_log = access_log
        self._counters: dict[tuple, Any] = {}
        self._timers: dict[tuple, Any] = {}

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        seen: list = []

        def observe_start(status, headers, exc_info=None):
            seen.append(status)
            seen.append(headers)
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, observe_start)
        finally:
            self._record(environ, seen, time.perf_counter() - started)

    def _record(self, environ, seen: list, elapsed: float) -> None:
        try:
            status = seen[0][:3] if seen else "500"
            route = environ.get(_ROUTE_KEY) or UNMATCHED
            method = environ.get("REQUEST_METHOD", "GET")
            key = (route, method, status)
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = metrics.HTTP_REQUESTS.labels(route, method, status)
                if status == "429":
                    self._counters[key + ("429",)] = metrics.RATE_LIMITED.labels(route)
                elif status == "401" and route.startswith("/webhooks"):
                    self._counters[key + ("401",)] = metrics.WEBHOOK_REJECTED.labels(route)
            counter.inc()
            if status in ("429", "401"):
                extra = self._counters.get(key + (status,))
                if extra is not None:
                    extra.inc()
            timer = self._timers.get(key[:2])
            if timer is None:
                timer = self._timers[key[:2]] = metrics.HTTP_LATENCY.labels(route, method)
            timer.observe(elapsed)
            if self.access_log is not None:
                request_id = None
                if len(seen) > 1:
                    for name, value in seen[1]:
                        if name == "X-Request-ID":
                            request_id = value
                            break
                self.access_log.write(request_id, method, route, status, elapsed,
                                      environ.get(_USER_KEY))
        except Exception:  # noqa: BLE001 - observing must never break an answer
            logging.getLogger(__name__).exception("request metrics failed")


def _user_id() -> int | None:
    """Who the request was for, from what the request already verified (nothing is loaded)."""
    claims = g.get("_jwt_extended_jwt")
    if claims:
        try:
            return int(claims.get("sub"))
        except (TypeError, ValueError):
            return None
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "id", None)
    return None


def _note_route_and_user(response):
    rule = request.url_rule
    environ = request.environ
    if rule is not None:
        environ[_ROUTE_KEY] = rule.rule
    environ[_USER_KEY] = _user_id()
    return response


def _access_log(app: Flask) -> AccessLog | None:
    return AccessLog(sys.stdout) if app.config.get("ACCESS_LOG", True) else None


def init_observability(app: Flask) -> None:
    """Wire request metrics, the access log and Sentry. Call last in ``create_app`` (outermost
    layer). The /metrics endpoint itself is a page blueprint (``nibog.ops.scrape``)."""
    app.after_request(_note_route_and_user)
    app.wsgi_app = RequestObserver(app, app.wsgi_app, access_log=_access_log(app))
    init_sentry(app)


# --- Sentry ------------------------------------------------------------------------------------

FILTERED = "[Filtered]"
_SENSITIVE_KEY = re.compile(
    r"pass|secret|token|auth|cookie|session|csrf|otp|code|signature|verify|api[-_]?key|"
    r"phone|mobile|email|e-mail|address|(?:full|guest|child|first|last|user)_?name|dob|birth|"
    r"card|upi|vpa|salt",
    re.IGNORECASE,
)
# Keys that match the pattern above but hold nothing personal (Sentry's own structure).
_SAFE_KEYS = frozenset({
    "type", "module", "function", "filename", "abs_path", "lineno", "colno", "context_line",
    "pre_context", "post_context", "in_app", "level", "logger", "platform", "event_id",
    "timestamp", "status_code", "method", "url", "transaction", "release", "environment",
    "server_name", "sdk", "version", "category", "message", "formatted", "mechanism",
    "handled", "status", "op", "description", "route", "code_function", "code_namespace",
})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Phone numbers: +91 98765 43210, 9876543210, 98765-43210, +1 415 555 0100 (dates and short
# numbers stay).
_PHONE = re.compile(
    r"(?<![\w-])(?:\+\d[\d -]{7,16}\d|(?:0|91[ -]?)?\d{5}[ -]?\d{5})(?![\w-])"
)
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
_BEARER = re.compile(r"(?i)(bearer|basic)\s+[\w.~+/=-]+")
_QUERY = re.compile(r"\?[^\s\"']*")


def scrub_text(value: str) -> str:
    value = _BEARER.sub(r"\1 " + FILTERED, value)
    value = _JWT.sub(FILTERED, value)
    value = _EMAIL.sub("[email]", value)
    value = _PHONE.sub("[phone]", value)
    return value


def scrub(value: Any, key: str | None = None, depth: int = 0) -> Any:
    """Personal data and secrets out of anything an error report carries."""
    if depth > 20:
        return FILTERED
    if key is not None and key not in _SAFE_KEYS and _SENSITIVE_KEY.search(key):
        return FILTERED if value not in (None, "", [], {}) else value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: scrub(v, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, None, depth + 1) for v in value]
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry ``before_send``: the request keeps its method and path (no query string, cookies,
    headers that identify someone, or body), user only by id, everything else scrubbed."""
    req = event.get("request")
    if isinstance(req, dict):
        req.pop("query_string", None)
        req.pop("cookies", None)
        req.pop("data", None)
        if isinstance(req.get("url"), str):
            req["url"] = _QUERY.sub("", req["url"])
        headers = req.get("headers")
        if isinstance(headers, dict):
            req["headers"] = {
                k: v for k, v in headers.items()
                if k.lower() in ("content-type", "content-length", "user-agent", "x-request-id",
                                 "host", "accept")
            }
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    return scrub(event)


def report_exception(exc: BaseException) -> None:
    """To Sentry when it is on (the error handler answers every crash, so Flask's own signal
    that Sentry listens to never fires)."""
    if "sentry_sdk" not in sys.modules:
        return
    import sentry_sdk

    if sentry_sdk.get_client().is_active():
        sentry_sdk.capture_exception(exc)


def init_sentry(app: Flask) -> bool:
    """Sentry with the Flask, RQ and SQLAlchemy integrations, only when SENTRY_DSN is set."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration
    from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration(), RqIntegration(), SqlalchemyIntegration()],
        environment=app.config.get("ENV_NAME"),
        release=app.config.get("RELEASE") or None,
        # send_default_pii is left unset: this SDK deprecates the option, and unset means False
        # (no user ip, cookies, headers or bodies; the SDK's own EventScrubber stays on).
        # Traces cost CPU on every request; errors alone by default.
        traces_sample_rate=float(app.config.get("SENTRY_TRACES_SAMPLE_RATE") or 0),
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=lambda crumb, _hint: scrub(crumb),
        max_request_body_size="never",
    )
    return True

"""``POST /api/bookings`` for a slot Redis already marks full, answered before Flask.

In a sales burst nine requests in ten ask for a slot that filled seconds ago, and for them the
framework (request context, routing, hooks, argument parsing, error handling) cost more than the
decision itself (docs/performance.md). This WSGI layer answers those requests, and only those:
it runs the checks the view runs before its first rule, in the same order - a live bearer access
token (``core.auth.verify_token``, the view's own check), a JSON body the view's own schema
accepts, no ``Idempotency-Key`` (a key may have to replay an earlier answer) - then the view's
first rule, ``full_marks.reject_known_full``, with the marks read in the token check's round trip, and
sends the same ``409 slot_full`` the view would. Every other request, and any request it has the
least doubt about (a missing or odd header, a revoked token, a body the schema refuses, a slot
not marked, Redis unavailable), goes on to Flask, which answers it as always; when the token
check passed, the request carries that check to the view (``core.auth.remember_checked_token``),
which then does not repeat it, and so does the body the schema loaded
(``core.loaded_in_front``).

``FULL_SLOT_GATE=false`` switches it off (then every request takes the view's path).
"""

from __future__ import annotations

import io
import json
import logging

from flask import Flask
from marshmallow import ValidationError

from nibog.booking.fastpath import full_marks
from nibog.booking.schemas import CREATE_BOOKING_IN
from nibog.core import prefetch, security_headers
from nibog.core.auth import remember_checked_token, verify_token
from nibog.core.errors import AppError, error_response
from nibog.core.loaded_in_front import remember_loaded
from nibog.core.logging import request_id_for
from nibog.core.observability import remember_route
from nibog.extensions import get_redis

log = logging.getLogger(__name__)

PATH = "/api/bookings"
# A booking body is a few hundred bytes; anything much larger is left to the view's limits.
MAX_BODY = 16 * 1024


class FullSlotGate:
    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

        self.schema = CREATE_BOOKING_IN

    def __call__(self, environ, start_response):
        if (
            environ.get("PATH_INFO") != PATH
            or environ.get("REQUEST_METHOD") != "POST"
            or "HTTP_IDEMPOTENCY_KEY" in environ
            or not self.app.config.get("FULL_SLOT_GATE", True)
        ):
            return self.wsgi_app(environ, start_response)
        body = _read_body(environ)
        if body is not None:
            try:
                answer = self._answer(environ, body)
            except Exception:  # noqa: BLE001 - a shortcut only: the view answers properly
                log.exception("full-slot gate failed; the view answers")
                answer = None
            if answer is not None:
                return answer(environ, start_response)
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ, body: bytes):
        """The view's ``409 slot_full`` response, or None when the view must answer."""
        token = _bearer(environ.get("HTTP_AUTHORIZATION", ""))
        if token is None:
            return None
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # the view refuses it
            return None
        if not isinstance(data, dict):
            return None

        keys = full_marks.full_mark_keys(data.get("items"))
        if not keys:
            return None
        with self.app.app_context():
            if get_redis() is None:
                return None
            try:
                # The view's token check; the marks ride along in its Redis round trip.
                checked = verify_token(token, also_read=keys)
            except Exception:  # noqa: BLE001 - expired, forged, revoked...: the view says which
                return None
            # A request that goes on to the view (most of a burst's first seconds: the holds)
            # takes this check with it instead of decoding the token and asking Redis again.
            remember_checked_token(environ, token, checked, prefetch.kept())
            try:
                args = self.schema.load(data)
            except ValidationError:
                return None
            # The view would load the same bytes with the same schema: it takes these instead.
            remember_loaded(environ, self.schema, body, args)
            try:
                full_marks.reject_known_full(args["event_id"], args["items"])
            except AppError as exc:
                if exc.code != "slot_full":
                    return None
                resp = error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
                resp.headers["X-Request-ID"] = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
                remember_route(environ, PATH)
                # The headers the after-request hook gives the view's answer.
                return security_headers.apply(self.app, resp, path=PATH, method="POST",
                                              origin=environ.get("HTTP_ORIGIN"))
        return None


def _read_body(environ) -> bytes | None:
    """The request body (put back for the view), or None when it is not a plain JSON body."""
    content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= MAX_BODY:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body if len(body) == length else None


def _bearer(header: str) -> str | None:
    """The token of a single ``Bearer <token>`` value; anything else is the view's to judge."""
    scheme, _, token = header.strip().partition(" ")
    if scheme != "Bearer" or not token or " " in token or "," in token:
        return None
    return token


def install_full_slot_gate(app: Flask) -> None:
    app.wsgi_app = FullSlotGate(app, app.wsgi_app)

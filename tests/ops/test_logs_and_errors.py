"""The access log line, the request id carried into jobs, and what an error report may hold."""

from __future__ import annotations

import gzip
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from flask import g
from sqlalchemy import select

from nibog.core import boundary
from nibog.core.jobs import enqueue
from nibog.core.models import OutboxJob
from nibog.core.observability import AccessLog, scrub_event
from nibog.core.outbox import relay_outbox
from nibog.extensions import db, get_redis
from tests.booking.world import make_world
from tests.helpers import auth_headers


@pytest.fixture
def access_lines(app):
    stream = io.StringIO()
    app.wsgi_app.access_log = AccessLog(stream)
    yield lambda: stream.getvalue().splitlines()
    app.wsgi_app.access_log = None


def test_one_json_line_per_request_without_query_or_token(client, access_lines):
    w = make_world()
    headers = {**auth_headers(w.parent), "X-Request-ID": "req-abc-123"}
    # (Anonymous first: the tests' requests share one app context, so g outlives a request.)
    client.get("/reset-password/some-emailed-token-value")
    resp = client.get("/api/users/me?phone=9876543210&token=sekret", headers=headers)
    assert resp.status_code == 200
    lines = access_lines()
    second, first = (json.loads(line) for line in lines)
    assert first["request_id"] == "req-abc-123"
    assert first["route"] == "/api/users/me"
    assert first["method"] == "GET" and first["status"] == 200
    assert first["user_id"] == w.parent.id
    assert 0 < first["duration_ms"] < 60_000
    everything = "\n".join(lines)
    for secret in ("9876543210", "sekret", "some-emailed-token-value"):
        assert secret not in everything
    assert second["user_id"] is None and second["request_id"]


def test_request_id_reaches_the_jobs_a_request_queues(client, app):
    w = make_world()
    resp = client.post("/api/bookings", headers={**auth_headers(w.parent), "X-Request-ID": "rid-77"},
                       json={"event_id": w.event.id,
                             "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]})
    assert resp.status_code == 201
    rows = db.session.scalars(select(OutboxJob)).all()
    assert rows and {row.request_id for row in rows} == {"rid-77"}


def probe_job(key: str) -> None:
    """A job that records the request id its log lines would carry."""
    from nibog.core.logging import current_request_id

    get_redis().set(key, current_request_id() or "none")


def test_a_job_runs_under_the_id_of_the_request_that_queued_it(app):
    with app.test_request_context("/"):
        g.request_id = "rid-direct"
        enqueue("tests.ops.test_logs_and_errors.probe_job", "probe:direct")
        boundary.commit()
    assert get_redis().get("probe:direct") == b"rid-direct"


@pytest.mark.commits  # the outbox relay reads on a connection of its own
def test_a_relayed_job_keeps_the_request_id(app):
    app.config["JOBS_HANDOFF"], app.config["JOBS_SYNC"] = "relay", False
    try:
        with app.test_request_context("/"):
            g.request_id = "rid-relayed"
            enqueue("tests.ops.test_logs_and_errors.probe_job", "probe:relayed")
            boundary.commit()
    finally:
        app.config["JOBS_HANDOFF"], app.config["JOBS_SYNC"] = "commit", True
    assert get_redis().get("probe:relayed") is None  # left in the outbox for the relay
    assert relay_outbox(grace_seconds=0) == 1  # JOBS_SYNC again: the relay's push runs it
    assert get_redis().get("probe:relayed") == b"rid-relayed"


# --- error reports ---------------------------------------------------------------------------

def _event() -> dict:
    return {
        "message": "booking failed for priya.sharma@example.com at +91 98765 43210",
        "exception": {"values": [{
            "type": "AppError",
            "value": "no account for 9876543210 / token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
            "stacktrace": {"frames": [{
                "function": "create_booking", "lineno": 42, "filename": "service.py",
                "vars": {"email": "priya.sharma@example.com", "phone": "9876543210",
                         "otp_code": "123456", "password": "hunter22", "slot_id": 17,
                         "guest_name": "Priya Sharma", "note": "call 98765-43210"},
            }]},
        }]},
        "request": {
            "url": "https://nibog.in/api/auth/otp/verify?phone=9876543210",
            "method": "POST",
            "query_string": "phone=9876543210",
            "cookies": {"session": "abc"},
            "data": {"phone": "9876543210", "code": "123456"},
            "headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
                        "Cookie": "session=abc", "X-Request-ID": "rid-1",
                        "Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9"},
        },
        "user": {"id": 5, "email": "priya.sharma@example.com", "ip_address": "203.0.113.9"},
        "breadcrumbs": {"values": [{"category": "query", "message":
                                    "SELECT * FROM users WHERE email = 'priya.sharma@example.com'"}]},
        "extra": {"event_date": "2026-12-20", "booking_id": 123456},
    }


def test_scrubber_removes_phones_emails_tokens_and_secrets():
    scrubbed = scrub_event(_event())
    text = json.dumps(scrubbed)
    for secret in ("priya.sharma", "98765", "9876543210", "123456\"", "hunter22", "eyJ",
                   "Priya Sharma", "session=abc", "203.0.113.9"):
        assert secret not in text, secret
    frame_vars = scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]
    assert frame_vars["slot_id"] == 17  # what helps debugging stays
    assert frame_vars["note"] == "call [phone]"
    assert scrubbed["request"]["url"] == "https://nibog.in/api/auth/otp/verify"
    assert scrubbed["request"]["method"] == "POST"
    assert scrubbed["request"]["headers"] == {"X-Request-ID": "rid-1",
                                              "Content-Type": "application/json"}
    assert scrubbed["user"] == {"id": 5}
    assert scrubbed["extra"] == {"event_date": "2026-12-20", "booking_id": 123456}
    assert scrubbed["exception"]["values"][0]["type"] == "AppError"


def _decoded(encoding: str | None, body: bytes) -> bytes:
    """The SDK compresses with brotli when that package is installed (a Locust dependency
    brings it), else with gzip."""
    if encoding == "br":
        import brotli  # lazy: only present when something installed it

        return brotli.decompress(body)
    return gzip.decompress(body) if encoding == "gzip" else body


class _Collector(BaseHTTPRequestHandler):
    bodies: list[tuple[str | None, bytes]] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        _Collector.bodies.append((self.headers.get("Content-Encoding"), self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_sentry_reports_a_crash_without_personal_data(app, client, monkeypatch):
    """A local stand-in for Sentry receives what the SDK would send."""
    import sentry_sdk

    from nibog.core.observability import init_sentry

    server = HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Collector.bodies.clear()
    app.config["SENTRY_DSN"] = f"http://publickey@127.0.0.1:{server.server_port}/1"

    def crash(**_kw):
        raise RuntimeError("lookup failed for priya.sharma@example.com / 9876543210")

    monkeypatch.setattr("nibog.core.health.jsonify", crash)
    try:
        assert init_sentry(app)
        assert sentry_sdk.get_client().should_send_default_pii() is False
        resp = client.get("/healthz?email=priya.sharma@example.com",
                          headers={"Authorization": "Bearer eyJabc.eyJdef.sig"})
        assert resp.status_code == 500
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # no DSN: reporting off again for the other tests
        app.config["SENTRY_DSN"] = ""
        server.shutdown()
    sent = b"".join(_decoded(encoding, body) for encoding, body in _Collector.bodies)
    assert b"RuntimeError" in sent
    for secret in (b"priya.sharma", b"9876543210", b"eyJabc"):
        assert secret not in sent

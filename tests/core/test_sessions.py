"""The API never uses the cookie session; pages still do."""

from __future__ import annotations

import pytest
from flask import session

from nibog import create_app


@pytest.fixture
def fresh_app(app):
    """Its own app: routes are added before its first request."""
    keep = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "SECRET_KEY", "JWT_SECRET_KEY", "TESTING")
    return create_app({k: app.config[k] for k in keep})


def test_api_requests_neither_read_nor_set_the_session_cookie(fresh_app):
    app, client = fresh_app, fresh_app.test_client()

    @app.get("/api/_probe-session")
    def probe():
        before = dict(session)
        session["x"] = "1"  # even a careless write must not turn into a cookie
        return {"seen": before}

    client.set_cookie("session", "garbage-that-would-not-verify")
    resp = client.get("/api/_probe-session")
    assert resp.status_code == 200 and resp.get_json() == {"seen": {}}
    assert "Set-Cookie" not in resp.headers


def test_pages_keep_their_signed_session(fresh_app):
    app, client = fresh_app, fresh_app.test_client()

    @app.get("/_probe-page")
    def page():
        session["visits"] = session.get("visits", 0) + 1
        return str(session["visits"])

    assert client.get("/_probe-page").get_data(as_text=True) == "1"
    assert client.get("/_probe-page").get_data(as_text=True) == "2"

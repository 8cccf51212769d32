"""Security headers on every response, cookie flags, CORS only for configured origins."""

from __future__ import annotations

import base64
import hashlib
import re

from nibog.core.security_headers import CSP
from tests.security.test_authorization_matrix import routes, url_for_rule


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def _assert_secure(resp, where):
    h = resp.headers
    csp = _directives(h.get("Content-Security-Policy", "default-src"))
    assert "script-src" in csp, where
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["frame-ancestors"] == ["'none'"], where
    assert csp["object-src"] == ["'none'"], where
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("Referrer-Policy") in ("strict-origin-when-cross-origin", "same-origin", "no-referrer"), where


def test_every_route_answers_with_the_security_headers(app, client):
    seen = 0
    for method, rule, _tag in routes(app):
        url = url_for_rule(rule, {})
        resp = client.open(url, method=method, json={} if method != "GET" else None)
        _assert_secure(resp, f"{method} {rule} -> {resp.status_code}")
        assert "Strict-Transport-Security" not in resp.headers  # not in development/testing
        seen += 1
    # Answers Flask makes without a view: an unknown path, a wrong method, a preflight.
    for resp in (client.get("/no/such/page"), client.get("/api/no/such/thing"),
                 client.delete("/api/events"), client.options("/api/events")):
        _assert_secure(resp, resp.status_code)
    assert seen > 100


def test_production_adds_hsts(app, client, monkeypatch):
    from nibog.config import ProductionConfig

    assert ProductionConfig.SECURITY_HSTS and ProductionConfig.SESSION_COOKIE_SECURE
    monkeypatch.setitem(app.config, "SECURITY_HSTS", True)
    for resp in (client.get("/api/events"), client.get("/"), client.get("/nothing")):
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_page_keeps_its_own_stricter_referrer_policy(client):
    resp = client.get("/reset-password?token=x")
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    # A site page keeps the site's policy (nibog/web/setup.py); the API gets the core one.
    from nibog.web.setup import CSP as SITE_CSP

    assert resp.headers["Content-Security-Policy"] == SITE_CSP
    assert client.get("/api/events").headers["Content-Security-Policy"] == CSP


def test_the_api_docs_page_runs_only_its_own_inline_script(client):
    resp = client.get("/api/docs")
    assert resp.status_code == 200
    script_src = _directives(resp.headers["Content-Security-Policy"])["script-src"]
    inline = re.findall(rb"<script>(.*?)</script>", resp.data, re.S)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0]).digest()).decode()
    assert f"'sha256-{digest}'" in script_src and "'unsafe-inline'" not in script_src


def test_session_cookies_are_http_only_lax_and_secure_in_production(app, client, monkeypatch):
    # The reset page's form keeps its CSRF token in the session cookie.
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    from nibog.auth.tokens import make_reset_token
    from tests.factories import UserFactory

    with app.test_request_context():
        token = make_reset_token(UserFactory())
    resp = client.get(f"/reset-password?token={token}")
    assert resp.status_code == 200
    cookies = [v for k, v in resp.headers.items() if k == "Set-Cookie"]
    assert cookies, "the page sets a session cookie"
    for cookie in cookies:
        flags = {f.strip().split("=")[0].lower() for f in cookie.split(";")}
        assert {"httponly", "secure"} <= flags, cookie
        assert "SameSite=Lax" in cookie, cookie
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] and app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_cors_only_for_configured_origins(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CORS_ORIGINS", "https://app.nibog.in, https://partner.example")
    allowed = client.get("/api/events", headers={"Origin": "https://app.nibog.in"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.nibog.in"
    assert "Origin" in allowed.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    preflight = client.options("/api/bookings", headers={
        "Origin": "https://app.nibog.in", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key"})
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]

    for origin in ("https://evil.example", "https://app.nibog.in.evil.example", "null"):
        refused = client.get("/api/events", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in refused.headers, origin
        pre = client.options("/api/bookings", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert "Access-Control-Allow-Origin" not in pre.headers
        assert "Access-Control-Allow-Methods" not in pre.headers
    # Nothing configured (the default): no origin gets in.
    monkeypatch.setitem(app.config, "CORS_ORIGINS", "")
    resp = client.get("/api/events", headers={"Origin": "https://app.nibog.in"})
    assert "Access-Control-Allow-Origin" not in resp.headers


def _csrf_refusal(resp) -> bool:
    # Flask-WTF's own message, or the site's page for it (nibog/web/setup.py).
    return b"CSRF" in resp.data or b"came from another site" in resp.data


# Form posts a third party makes on purpose (the gateway returns the parent's browser here).
# Each checks the gateway's signature instead.
CSRF_EXEMPT = {("POST", "/payments/phonepe/return/<merchant_transaction_id>"),
               ("POST", "/book/<int:booking_id>/razorpay-return"),
               # Google posts the signed-in result here (signed state + nonce cookie + ID token).
               ("POST", "/login/google/callback"),
               # Only the display language; pages stay free of session cookies.
               ("POST", "/language")}


def test_every_page_form_needs_its_csrf_token(app, client, monkeypatch):
    """CSRF is on by default for every route outside /api and /webhooks: a post without the
    form's token is refused before the view runs, for any page route added later too."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    checked, unguarded = 0, []
    for method, rule, _tag in routes(app):
        if method == "GET" or rule.startswith(("/api/", "/webhooks/")) or \
                (method, rule) in CSRF_EXEMPT:
            continue
        resp = client.open(url_for_rule(rule, {}), method=method, data={"token": "x"})
        if not (resp.status_code == 400 and _csrf_refusal(resp)):
            unguarded.append(f"{method} {rule} -> {resp.status_code}")
        checked += 1
    assert unguarded == [], unguarded
    assert checked >= 2
    # The API is not affected: tokens, not cookies.
    assert client.post("/api/auth/login", json={"email": "a@b.c", "password": "x" * 8}
                       ).status_code == 401


def test_a_new_page_form_is_csrf_checked_without_asking(database_urls):
    from nibog import create_app

    db_url, redis_url = database_urls
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": db_url.render_as_string(hide_password=False),
                        "REDIS_URL": redis_url, "WTF_CSRF_ENABLED": True})
    fresh.add_url_rule("/a-new-form", "a_new_form", lambda: "changed", methods=["POST"])
    resp = fresh.test_client().post("/a-new-form", data={"x": "1"})
    assert resp.status_code == 400 and _csrf_refusal(resp)

"""Cookie sessions for the HTML pages only.

The JSON API and webhooks authenticate with bearer tokens and signatures, never with the cookie;
opening and re-signing it cost a fifth of a trivial request's CPU (bench/profile_booking.py). Their
requests get an empty session that is never read from or written to a cookie.
"""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface

TOKEN_ONLY_PREFIXES = ("/api/", "/webhooks/", "/healthz", "/readyz")


class PageSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        if request.path.startswith(TOKEN_ONLY_PREFIXES):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        from flask import request

        if request.path.startswith(TOKEN_ONLY_PREFIXES):
            return
        super().save_session(app, session, response)

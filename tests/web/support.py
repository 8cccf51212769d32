"""Helpers for the parent site's request tests: sign a parent in, pull a form's CSRF token."""

from __future__ import annotations

import re
from contextlib import contextmanager

from tests.auth.support import PASSWORD, make_user
from tests.helpers import html
from tests.helpers import sign_in as signed_in

__all__ = ["PASSWORD", "csrf_on", "csrf_token", "hindi", "html", "make_user", "sign_in"]


def sign_in(client, user=None, **user_kwargs):
    """A signed-in browser session for ``user`` (made, with PASSWORD, when not given): through
    the site's own /login when the password is known, else as /login leaves the session."""
    if user is None:
        user = make_user(**user_kwargs)
        resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:500]
        return user
    signed_in(client, user)
    return user


def csrf_token(page_html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page_html) or re.search(
        r'name="csrf_token" value="([^"]+)"', page_html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@contextmanager
def csrf_on(app):
    """CSRF checks as in production (the test config turns them off for brevity)."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def hindi(client) -> None:
    client.set_cookie("lang", "hi")

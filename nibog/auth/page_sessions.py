"""The parent site's cookie sessions end on every instance when the parent signs out.

The session is a signed cookie that no server keeps: signing out only asks the browser to forget
it, and a copy taken before (another tab's replay, a stolen cookie) would go on working on every
web instance until the cookie's lifetime ends. Each sign-in therefore gets an id of its own in the
session, and signing out puts that id on the revocation list in Redis (``revoked:page-{sid}``,
kept for the cookie's lifetime), which the session loader checks on every instance.
"""

from __future__ import annotations

import secrets
import time

from flask import current_app, session
from flask_login import user_logged_in, user_logged_out

from nibog.auth.revocation import is_token_revoked, revoke_token

KEY = "sid"


def _key(sid: str) -> str:
    return f"page-{sid}"


def _started(_app, user=None, **_kw) -> None:
    session[KEY] = secrets.token_urlsafe(16)


def _ended(_app, user=None, **_kw) -> None:
    sid = session.pop(KEY, None)
    if sid:
        lifetime = current_app.permanent_session_lifetime.total_seconds()
        revoke_token(_key(sid), int(time.time() + lifetime))


def is_revoked() -> bool:
    """The current session was signed out (on any instance). Sessions from before ids: no."""
    sid = session.get(KEY)
    return bool(sid) and is_token_revoked(_key(sid))


def install() -> None:
    # Module-level receivers: connecting again (one app per test) does not add a second one.
    user_logged_in.connect(_started)
    user_logged_out.connect(_ended)

"""Small helpers shared by tests."""

from __future__ import annotations

import threading

from flask import g
from flask_jwt_extended import create_access_token

from nibog.extensions import db


def auth_headers(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_access_token(identity=user)}"}


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


def html(response) -> str:
    return response.get_data(as_text=True)


def sign_in(client, user) -> None:
    """A Flask-Login session for ``user`` in ``client``, as /login leaves it."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()  # "<id>:<token version>"
        session["_fresh"] = True
    # Requests made in a test share its app context, where Flask-Login caches the user it
    # loaded for the previous request.
    g.pop("_login_user", None)


def reload(model, row_id):
    """``model`` row ``row_id`` as the database has it now (not the session's copy)."""
    db.session.expire_all()
    return db.session.get(model, row_id)


def in_threads(fn, n: int, *, timeout: float = 60) -> list:
    """``fn(i)`` for i in range(n), each in a daemon thread of its own; their results in order.

    Fails the test (never hangs it) if a thread is still running after ``timeout`` seconds,
    and re-raises the first exception a thread raised.
    """
    results: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), f"a thread still ran after {timeout} s"
    if errors:
        raise errors[0]
    return results

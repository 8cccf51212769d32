"""Small helpers shared by tests."""

from __future__ import annotations

import threading

from flask_jwt_extended import create_access_token


def auth_headers(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_access_token(identity=user)}"}


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


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

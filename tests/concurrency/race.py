"""Run a function in N threads at once, each with its own app context, session and connection.

Every thread commits for real (the others must see its rows), exactly like N web workers.
"""

from __future__ import annotations

import threading

from nibog.core import boundary
from nibog.core.errors import AppError
from nibog.extensions import db

BARRIER_TIMEOUT = 60


def race(app, n: int, fn) -> list[tuple[str, object]]:
    """``fn(i)`` in n threads released together; returns ("ok", value) / ("error", code) /
    ("exception", repr) per thread."""
    start = threading.Barrier(n, timeout=BARRIER_TIMEOUT)
    results: list = [None] * n

    def worker(i: int) -> None:
        with app.app_context():
            try:
                start.wait()
                value = fn(i)
                boundary.commit()
                results[i] = ("ok", value)
            except AppError as exc:
                boundary.rollback()
                results[i] = ("error", exc.code)
            except Exception as exc:  # noqa: BLE001 - reported to the test, which asserts on it
                boundary.rollback()
                results[i] = ("exception", repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    return results


def pause_at(stage: str, parties: int):
    """A locking.guards.pause hook that lines ``parties`` threads up at ``stage`` (once per thread).

    Used only by the controls: with the guard off, every thread reads the counter before any
    thread writes it, so the lost update happens every time instead of by luck.
    """
    barrier = threading.Barrier(parties, timeout=BARRIER_TIMEOUT)
    seen = threading.local()

    def hook(name: str) -> None:
        if name == stage and not getattr(seen, "done", False):
            seen.done = True
            barrier.wait()

    return hook


def codes(results) -> list:
    return sorted(r[1] if r[0] != "ok" else "ok" for r in results)

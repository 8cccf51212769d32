"""Run a function in N threads at once, each with its own app context, session and connection.

Every thread commits for real (the others must see its rows), exactly like N web workers.
``interleave`` forces one order instead: the first stops at a pause point, the second runs to
its end or until it waits for a lock, then the first goes on.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from sqlalchemy import text

from nibog.core import boundary, locking
from nibog.core.errors import AppError
from nibog.extensions import db

BARRIER_TIMEOUT = 60
JOIN_TIMEOUT = 120


def run_unit(app, fn, results: list, i: int) -> None:
    """``fn(i)`` as one unit of work in its own app context: ("ok", value) / ("error", code) /
    ("exception", repr) in ``results[i]``."""
    with app.app_context():
        try:
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


def race(app, n: int, fn) -> list[tuple[str, object]]:
    """``fn(i)`` in n threads released together; returns ("ok", value) / ("error", code) /
    ("exception", repr) per thread."""
    start = threading.Barrier(n, timeout=BARRIER_TIMEOUT)
    results: list = [None] * n

    def worker(i: int) -> None:
        start.wait()
        run_unit(app, fn, results, i)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    join_all(threads)
    return results


def join_all(threads, timeout: float = JOIN_TIMEOUT) -> None:
    """Join with a timeout: a deadlock fails the test instead of hanging the run."""
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"


def waiting_for_a_lock() -> int:
    """Other connections to this database waiting for a lock (row or advisory) right now."""
    with db.engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar()


def interleave(app, first, second, stage: str) -> list:
    """Force one interleaving of two units of work; returns their results as ``race`` does.

    ``first(0)`` runs until ``locking.pause(stage)`` and stops there (inside its transaction);
    then ``second(1)`` runs until it has finished or is waiting for a lock; then ``first`` goes
    on. With the guard on, ``second`` waits for ``first``'s lock and runs after it; with the
    guard off, ``second`` runs in the middle of ``first`` - every run, not by luck.
    """
    arrived, go = threading.Event(), threading.Event()
    previous = locking.guards.pause

    def hook(name: str) -> None:
        if name == stage and threading.current_thread().name == "interleave-first" \
                and not arrived.is_set():
            arrived.set()
            go.wait(BARRIER_TIMEOUT)
        elif previous is not None:
            previous(name)

    results: list = [None, None]
    with _pause_hook(hook):
        one = threading.Thread(target=run_unit, args=(app, first, results, 0),
                               name="interleave-first")
        one.start()
        try:
            assert arrived.wait(BARRIER_TIMEOUT), f"the first never reached {stage!r}"
            two = threading.Thread(target=run_unit, args=(app, second, results, 1))
            two.start()
            deadline = time.monotonic() + BARRIER_TIMEOUT
            while two.is_alive() and not waiting_for_a_lock():
                assert time.monotonic() < deadline, "the second neither finished nor waited"
                time.sleep(0.01)
        finally:
            go.set()
        join_all([one, two])
    return results


@contextmanager
def _pause_hook(hook):
    previous = locking.guards.pause
    locking.guards.pause = hook
    try:
        yield
    finally:
        locking.guards.pause = previous


def pause_at(stage: str, parties: int):
    """A locking.guards.pause hook that lines ``parties`` threads up at ``stage`` (once per thread).

    Used only by the controls: with the guard off, every thread reads the counter before any
    thread writes it, so the lost update happens every time instead of by luck. The hook is
    registered and ``check_pauses_reached`` (a fixture, after each test) fails the test unless
    every party reached the stage: a control whose pause point was renamed or moved off its path
    would otherwise still pass whenever the race happens by luck.
    """
    barrier = threading.Barrier(parties, timeout=BARRIER_TIMEOUT)
    seen = threading.local()
    lock = threading.Lock()

    def hook(name: str) -> None:
        if name == stage and not getattr(seen, "done", False):
            seen.done = True
            with lock:
                hook.reached += 1
            barrier.wait()

    hook.stage, hook.parties, hook.reached = stage, parties, 0
    _pause_hooks.append(hook)
    return hook


_pause_hooks: list = []


def check_pauses_reached() -> None:
    """Every ``pause_at`` hook made since the last call was reached by all its parties."""
    hooks = list(_pause_hooks)
    _pause_hooks.clear()
    for hook in hooks:
        assert hook.reached == hook.parties, (
            f"pause point {hook.stage!r} reached by {hook.reached} of {hook.parties} threads: "
            "the control no longer forces its interleaving")


def codes(results) -> list:
    return sorted(r[1] if r[0] != "ok" else "ok" for r in results)


@contextmanager
def without_database_rule(drop: str, restore: str, *, before_restore: str | None = None):
    """A database rule (a unique index or constraint) dropped for a control's duration: such a
    guard has no switch in ``locking.guards``. ``before_restore`` first makes the rows the
    control wrote fit the rule again (they are truncated after the test anyway)."""
    with db.engine.begin() as conn:
        conn.execute(text(drop))
    try:
        yield
    finally:
        db.session.rollback()  # the test's reads hold locks the DDL would wait for
        with db.engine.begin() as conn:
            if before_restore:
                conn.execute(text(before_restore))
            conn.execute(text(restore))

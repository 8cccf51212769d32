"""Row locks on counters (seats, add-on stock, promo uses): one way to take them, one way to
switch them off in a test.

Lock order, everywhere (create, confirm after expiry, cancel, expire, move, capacity edits):
slot rows by id, then the promo code row, then add-on variant rows by id. Two transactions that
need overlapping rows therefore queue behind each other instead of deadlocking. A lock waited
for longer than ``DB_LOCK_TIMEOUT_MS`` fails the statement (``lock_timeout`` on every PostgreSQL
connection), so a stuck transaction shows up as a clear 503 ``busy`` instead of a pile of
waiting connections. Modelled on pretix's ``lock_objects`` (sorted keys, a timeout, one test
bypass).

``guards`` exist only for the concurrency tests' controls: with a guard switched off the same
race really oversells (or deadlocks), which proves those tests can fail. ``pause(stage)`` lets a
test hold a transaction between reading a counter and writing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from nibog.extensions import db


@dataclass
class Guards:
    # False: counters are read without FOR UPDATE (the classic lost update).
    lock_rows: bool = True
    # False: rows are locked one by one in request order (deadlock-prone).
    in_id_order: bool = True
    # Called with a stage name between reading a counter and writing it.
    pause: Callable[[str], None] | None = None

    @property
    def all_on(self) -> bool:
        return self.lock_rows and self.in_id_order


guards = Guards()


def pause(stage: str) -> None:
    if guards.pause is not None:
        guards.pause(stage)


def lock_one(model, row_id: int):
    """The row, locked, with its current values (None when it does not exist)."""
    stmt = select(model).where(model.id == row_id).execution_options(populate_existing=True)
    if guards.lock_rows:
        return db.session.scalar(stmt.with_for_update())
    # Unguarded (tests only): whatever this session read before, however stale.
    return db.session.get(model, row_id) or db.session.scalar(stmt)


def lock_rows(model, ids: Iterable[int]) -> dict[int, object]:
    """Lock rows in ascending id order with one statement; returns id -> row (fresh values)."""
    ordered = list(dict.fromkeys(ids))
    if not ordered:
        return {}
    if not guards.lock_rows:
        return {i: lock_one(model, i) for i in ordered}
    if not guards.in_id_order:
        locked = {}
        for i in ordered:
            locked[i] = lock_one(model, i)
            pause("row_locked")
        return locked
    stmt = (
        select(model)
        .where(model.id.in_(ordered))
        .order_by(model.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in db.session.scalars(stmt)}


def for_update(stmt):
    """``stmt`` locking its rows (unless a test switched the guard off)."""
    return stmt.with_for_update() if guards.lock_rows else stmt


def connect_options(timeout_ms: int) -> dict:
    """psycopg2 connect arguments giving every connection its ``lock_timeout``."""
    return {"options": f"-c lock_timeout={int(timeout_ms)}"} if timeout_ms > 0 else {}

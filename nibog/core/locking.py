"""Row locks on counters (seats, add-on stock, promo uses): one way to take them, one way to
switch them off in a test.

Lock order, everywhere (create, confirm after expiry, cancel, expire, move, capacity edits):
slot rows by id, then the promo code row, then add-on variant rows by id. Two transactions that
need overlapping rows therefore queue behind each other instead of deadlocking. A lock waited
for longer than ``DB_LOCK_TIMEOUT_MS`` fails the statement (``lock_timeout`` on every PostgreSQL
connection), so a stuck transaction shows up as a clear 503 ``busy`` instead of a pile of
waiting connections. Modelled on pretix's ``lock_objects`` (sorted keys, a timeout, one test
bypass).

Work that has no row to lock takes a named advisory lock instead (``hold_for_transaction``,
``exclusive``, below).

``guards`` exist only for the concurrency tests' controls: with a guard switched off the same
race really oversells (or deadlocks), which proves those tests can fail. ``pause(stage)`` lets a
test hold a transaction between reading a counter and writing it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import func, select, text

from nibog.extensions import db


@dataclass
class Guards:
    # False: counters are read without FOR UPDATE (the classic lost update).
    lock_rows: bool = True
    # False: rows are locked one by one in request order (deadlock-prone).
    in_id_order: bool = True
    # Called with a stage name between reading a counter and writing it.
    pause: Callable[[str], None] | None = None
    # Each guard below is one rule a concurrency test's control switches off on its own (docs/
    # testing.md, "Races and their controls"); all default on, and only tests change them.
    # False: a one-slot claim reads the count, then writes it (two statements, no lock).
    claim_in_one_statement: bool = True
    # False: the unlocked pre-check marks a slot full from what it read, without the row lock.
    marks_under_lock: bool = True
    # False: check-in reads the booking's items without locking the booking row.
    checkin_lock: bool = True
    # False: a waiting-list offer round runs without the slot's row lock.
    offer_round_lock: bool = True
    # False: status changes (confirm, cancel, expire) read the booking without its row lock.
    booking_lock: bool = True
    # False: payments and refunds read the payment without its row lock.
    payment_lock: bool = True
    # False: an Idempotency-Key is claimed by a read, then a write that overwrites (not one
    # "insert unless present" statement).
    idempotency_claim: bool = True
    # False: joining a waiting list reads the slot without its shared row lock.
    waitlist_join_lock: bool = True
    # False: two certificate runs for one event run at once (no advisory lock per event).
    certificate_run_lock: bool = True
    # False: a guest booking runs without its advisory lock per e-mail.
    guest_email_lock: bool = True
    # False: a password reset checks its link without locking the account row.
    reset_lock: bool = True
    # False: an admin's stock edit checks what was sold against the variant as it read it
    # with the add-ons (no row lock, no fresh read).
    stock_edit_lock: bool = True
    # False: a matching one-time code signs in even when another request already used it.
    otp_consume_once: bool = True
    # False: a sign-in trusts the account row as it read it before checking the password (no
    # locked, fresh read of it before minting tokens).
    sign_in_lock: bool = True

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


def for_update(stmt, guard: str = "lock_rows", **options):
    """``stmt`` locking its rows (unless a test switched that guard off)."""
    return stmt.with_for_update(**options) if getattr(guards, guard) else stmt


def connect_options(timeout_ms: int) -> dict:
    """psycopg2 connect arguments giving every connection its ``lock_timeout``."""
    return {"options": f"-c lock_timeout={int(timeout_ms)}"} if timeout_ms > 0 else {}


# --- named advisory locks (PostgreSQL; no-ops on SQLite, which has a single writer) ----------
# ``hold_for_transaction(name)``: until the caller's transaction ends (guest bookings per e-mail:
# the placeholder owner and its children do not exist yet when a double submit's second request
# arrives). ``exclusive(name)``: for a run that commits many times (a job), in a transaction of
# its own on another connection, so the lock outlives each of the run's commits.


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a name (PostgreSQL's advisory lock key space)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def hold_for_transaction(name: str, guard: str | None = None) -> None:
    """Wait for, then hold, the lock until the session's transaction commits or rolls back
    (unless a test switched ``guard`` off)."""
    if guard is not None and not getattr(guards, guard):
        return
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(lock_key(name))))


@contextmanager
def exclusive(name: str, guard: str | None = None) -> Iterator[None]:
    """Wait for, then hold, the lock for the ``with`` block, whatever it commits meanwhile
    (unless a test switched ``guard`` off)."""
    if db.engine.dialect.name != "postgresql" or (guard is not None and not getattr(guards, guard)):
        yield
        return
    # A transaction of its own, open for the block: the lock is transaction-scoped, so it also
    # holds behind PgBouncer in transaction mode (a session lock taken and released in two
    # autocommit statements could land on two server connections and never be released), and
    # it goes with the connection if the process dies. It only waits on the lock: no snapshot
    # is held while the block runs.
    with db.engine.connect() as conn:
        try:
            # A run waits for the one before it however long that takes, not DB_LOCK_TIMEOUT_MS.
            conn.execute(text("SET LOCAL lock_timeout = 0"))
            conn.execute(select(func.pg_advisory_xact_lock(lock_key(name))))
            yield
        finally:
            conn.rollback()  # ends the transaction: the lock is released

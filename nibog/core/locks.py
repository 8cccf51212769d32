"""Named PostgreSQL advisory locks, for work that has no row to lock.

``hold_for_transaction(name)``: until the caller's transaction ends (guest bookings per e-mail:
the placeholder owner and its children do not exist yet when the second request arrives).
``exclusive(name)``: for a run that commits many times (a job), on a connection of its own, so
the lock outlives each commit and goes with the connection if the process dies.

SQLite (the embedded default) has a single writer: both are no-ops there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from nibog.extensions import db


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a name (PostgreSQL's advisory lock key space)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def hold_for_transaction(name: str) -> None:
    """Wait for, then hold, the lock until the session's transaction commits or rolls back."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(lock_key(name))))


@contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Wait for, then hold, the lock for the ``with`` block, whatever it commits meanwhile."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    key = lock_key(name)
    # Autocommit: no transaction stays open beside the work, only the session-level lock.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(select(func.pg_advisory_lock(key)))
        try:
            yield
        finally:
            conn.execute(select(func.pg_advisory_unlock(key)))

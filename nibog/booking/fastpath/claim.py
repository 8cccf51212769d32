"""One statement to claim the seats of a one-slot request (the usual shape of a booking)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import bindparam, select, update

from nibog.catalog.models import GameSlot
from nibog.core import locking, rows
from nibog.extensions import db

_SLOTS = GameSlot.__table__


# Lock and claim in one statement, only while the slot has the seats and is open. In READ
# COMMITTED an UPDATE that waited for the row lock checks its WHERE again on the row as the
# other transaction left it, so the condition is decided under the lock, like claim_seats.
_CLAIM_IF_FREE = (
    update(_SLOTS)
    .where(
        _SLOTS.c.id == bindparam("slot_id"),
        _SLOTS.c.booked_count + bindparam("seats") <= _SLOTS.c.capacity,
        _SLOTS.c.is_open.is_(True),
    )
    .values(booked_count=_SLOTS.c.booked_count + bindparam("seats"))
    .returning(*_SLOTS.c)
)


def claim_free_seats(seats_needed: Counter) -> dict[int, GameSlot] | None:
    """Take the seats of a one-slot request in one statement; None when that is not done.

    A booking's usual shape (one slot) while the slot has room: one round trip instead of a
    locking read and an UPDATE. None when the slot has no room, is closed or gone, or the
    request spans several slots (their locks must be taken in id order), or runs in a
    savepoint (claim_seats records such a claim in the unit of work): the caller then takes
    the locked path (lock_slots, claim_seats), which finds out why and answers as always.
    """
    if len(seats_needed) != 1 or db.session().get_nested_transaction() is not None:
        return None
    ((slot_id, need),) = seats_needed.items()
    if not locking.guards.claim_in_one_statement:
        return _claim_in_two_statements(slot_id, need)
    row = db.session.execute(_CLAIM_IF_FREE, {"slot_id": slot_id, "seats": need}).first()
    if row is None:
        return None
    locking.pause("seats_read")
    return {slot_id: rows.load(GameSlot, row)}


def _claim_in_two_statements(slot_id: int, need: int) -> dict[int, GameSlot] | None:
    """Tests only (``guards.claim_in_one_statement`` off, its control): the same claim as a
    read, then a write of the count read - the lost update the one statement prevents."""
    row = db.session.execute(select(_SLOTS).where(_SLOTS.c.id == slot_id)).first()
    locking.pause("seats_read")
    if row is None or not row.is_open or row.booked_count + need > row.capacity:
        return None
    db.session.execute(update(_SLOTS).where(_SLOTS.c.id == slot_id)
                       .values(booked_count=row.booked_count + need))
    return {slot_id: db.session.get(GameSlot, slot_id, populate_existing=True)}

"""A one-seat hold in one statement: claim the seat, insert the booking and its item.

The usual booking (one child, one slot, no promo, no add-ons) used to send the seat claim, the
booking INSERT and the item INSERT as three round trips, the last two while holding the slot's
row lock. Here they are one PostgreSQL statement of data-modifying CTEs:

- ``claimed``: ``UPDATE game_slots ... WHERE id = :slot AND booked_count + :seats <= capacity
  AND is_open RETURNING *`` - the conditional claim of ``claim.claim_free_seats``: an UPDATE that
  waited for the row lock checks its WHERE again on the row as the other transaction left it,
  so the capacity decision is made under the lock (and the CHECK constraint stays behind it);
- ``booking``: ``INSERT INTO bookings ... SELECT ... FROM claimed ON CONFLICT (booking_number)
  DO NOTHING RETURNING *`` - a row only when a seat was claimed;
- ``item``: ``INSERT INTO booking_items ... SELECT ... FROM booking RETURNING *`` - the partial
  unique index on live items refuses a double tap exactly as before (the statement fails with
  the same IntegrityError, the caller answers ``already_booked``).

No row back: nothing was written (no seat, closed, gone); the caller takes the locked path,
which finds out why and answers as always. A row without a booking (a booking-number
collision): the seat is claimed, the caller inserts the booking and item the usual way.

``locking.guards.claim_in_one_statement = False`` (the concurrency tests' control) swaps in
the same statement decided from the count read before any lock, written over whatever is
there: the lost update, so the races can show that this path's guard is what keeps them honest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, cast, insert, select, true, update
from sqlalchemy.dialects import postgresql

from nibog.booking.models import Booking, BookingItem
from nibog.catalog.models import GameSlot
from nibog.core import locking, rows
from nibog.extensions import db

_S, _B, _I = GameSlot.__table__, Booking.__table__, BookingItem.__table__

BOOKING_VALUES = (
    "booking_number", "user_id", "event_id", "status", "source", "guest_name", "guest_email",
    "guest_phone", "subtotal", "discount", "total", "promo_code_id", "payment_mode",
    "hold_expires_at", "confirmed_at", "created_by_id",
)


def _param(table, name: str):
    # Typed: PostgreSQL would take an untyped literal in a SELECT list for text. Prefixed: a
    # parameter named like a column of game_slots (price) would join the UPDATE's SET.
    return cast(bindparam(f"h_{name}"), table.c[name].type)


def _build(guarded: bool):
    seats = bindparam("h_seats")
    counted = _S.c.booked_count if guarded else bindparam("h_booked_read")
    claimed = (
        update(_S)
        .where(_S.c.id == bindparam("h_slot_id"), counted + seats <= _S.c.capacity,
               _S.c.is_open.is_(True))
        .values(booked_count=counted + seats)
        .returning(*_S.c)
        .cte("claimed")
    )
    booking = (
        postgresql.insert(_B)
        .from_select(list(BOOKING_VALUES),
                     select(*[_param(_B, n) for n in BOOKING_VALUES]).select_from(claimed))
        .on_conflict_do_nothing(index_elements=["booking_number"])
        .returning(*_B.c)
        .cte("booking")
    )
    item = (
        insert(_I)
        .from_select(["booking_id", "child_id", "slot_id", "price"],
                     select(booking.c.id, _param(_I, "child_id"), _param(_I, "slot_id"),
                            _param(_I, "price")).select_from(booking))
        .returning(*_I.c)
        .cte("item")
    )
    return select(
        *[c.label(f"s_{c.key}") for c in claimed.c],
        *[c.label(f"b_{c.key}") for c in booking.c],
        *[c.label(f"i_{c.key}") for c in item.c],
    ).select_from(
        claimed.outerjoin(booking, true()).outerjoin(item, true())
    ).execution_options(prepare=True)  # planned once per connection (core/prepared.py)


# Built on first use: a foreign key column's type (child_id, user_id) is only known once the
# table it points to is defined, which an import-time build could precede.
_STATEMENTS: dict[bool, Any] = {}


def _statement(guarded: bool):
    stmt = _STATEMENTS.get(guarded)
    if stmt is None:
        stmt = _STATEMENTS[guarded] = _build(guarded)
    return stmt


def applies(seats_needed, lines: int, promo_id, addon_lines) -> bool:
    """One line, one slot, nothing else to lock; on PostgreSQL, outside a savepoint."""
    return (
        lines == 1 and len(seats_needed) == 1 and promo_id is None and not addon_lines
        and db.session().get_nested_transaction() is None
        and db.session.get_bind().dialect.name == "postgresql"
    )


def hold(slot_id: int, seats: int, booked_read: int, child_id: int, price: int,
         booking_values: dict[str, Any]):
    """(slot, booking or None, [item] or None) as session objects; None when nothing was
    claimed (the caller takes the locked path)."""
    guarded = locking.guards.claim_in_one_statement
    if not guarded:
        locking.pause("seats_read")  # the control: every racer has read, none has written
    values = {"slot_id": slot_id, "seats": seats, "child_id": child_id, "price": price,
              **booking_values}
    if not guarded:
        values["booked_read"] = booked_read
    params = {f"h_{k}": v for k, v in values.items()}
    row = db.session.execute(_statement(guarded), params).first()
    if row is None:
        return None
    if guarded:
        locking.pause("seats_read")
    slot = rows.load(GameSlot, rows.Part(row, "s_", _S))
    if row._mapping["b_id"] is None:
        return slot, None, None
    booking = rows.adopt(Booking, rows.Part(row, "b_", _B))
    item = rows.adopt(BookingItem, rows.Part(row, "i_", _I))
    return slot, booking, [item]

"""Admin move of one booked item to another slot of the same event.

Capacity is guarded like a booking: both slot rows are locked in id order (the same order the
booking engine uses, so a move never deadlocks with a booking), the new slot must have a free
seat, then the old seat is released and the new one taken in the same transaction. The item
keeps its id, so a ticket already issued (its QR lists item ids) stays valid. The price paid is
kept: a move is a service gesture, not a new sale.
"""

from __future__ import annotations

from sqlalchemy import select

from nibog.accounts.models import Child
from nibog.booking.eligibility import check_eligible
from nibog.booking.lifecycle import lock_booking
from nibog.booking.models import OPEN_BOOKING_STATUSES, BookingItem
from nibog.catalog.cache import invalidate_event
from nibog.catalog.models import Event, EventGame, GameSlot
from nibog.core import locking, signals
from nibog.core.errors import AppError, Conflict, NotFound
from nibog.extensions import db

MOVABLE_STATUSES = OPEN_BOOKING_STATUSES



def move_item(
    booking_id: int, item_id: int, new_slot_id: int, *, check_age: bool = True
) -> BookingItem:
    booking = lock_booking(booking_id)
    if booking.status not in MOVABLE_STATUSES:
        raise Conflict(
            "booking_not_movable",
            f"A {booking.status} booking cannot be changed",
            {"status": booking.status},
        )
    item = db.session.scalar(
        select(BookingItem).where(BookingItem.id == item_id, BookingItem.booking_id == booking_id)
    )
    if item is None or not item.is_live:
        raise NotFound("Booking item")
    if item.slot_id == new_slot_id:
        raise AppError(
            "same_slot", "The item is already in this slot", 422, {"slot_id": new_slot_id}
        )
    if item.checked_in_at is not None:
        raise Conflict("item_checked_in", "A checked-in item cannot be moved")

    old_slot_id = item.slot_id
    stmt = (
        select(GameSlot)
        .where(GameSlot.id.in_(sorted({old_slot_id, new_slot_id})))
        .order_by(GameSlot.id)
        .execution_options(populate_existing=True)
    )
    slots = {s.id: s for s in db.session.scalars(locking.for_update(stmt))}
    new_slot = slots.get(new_slot_id)
    if new_slot is None:
        raise NotFound("Slot")
    new_game = db.session.get(EventGame, new_slot.event_game_id)
    if new_game.event_id != booking.event_id:
        raise AppError(
            "slot_not_in_event",
            "The new slot belongs to another event",
            422,
            {"slot_id": new_slot_id, "event_id": booking.event_id},
        )
    if check_age:
        check_eligible(
            db.session.get(Child, item.child_id), new_game, db.session.get(Event, new_game.event_id)
        )
    taken = db.session.scalar(
        select(BookingItem.id).where(
            BookingItem.child_id == item.child_id,
            BookingItem.slot_id == new_slot_id,
            BookingItem.is_live.is_(True),
        )
    )
    if taken is not None:
        raise Conflict("already_booked", "This child already has a seat in that slot")
    if new_slot.booked_count >= new_slot.capacity:
        raise Conflict(
            "slot_full", f"Slot {new_slot_id} has no seats left", {"slot_ids": [new_slot_id]}
        )

    locking.pause("move_read")
    new_slot.booked_count += 1
    slots[old_slot_id].booked_count -= 1
    item.slot_id = new_slot_id
    db.session.flush()
    signals.announce_seats_freed([old_slot_id])
    invalidate_event(booking.event_id)
    return item

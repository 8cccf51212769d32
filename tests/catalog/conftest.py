"""Shared catalog test helpers: users by role and a small booking writer."""

from __future__ import annotations

import pytest

from nibog.extensions import db
from tests.factories import UserFactory
from tests.helpers import auth_headers


@pytest.fixture
def admin_h(app):
    return auth_headers(UserFactory(role="admin"))


@pytest.fixture
def staff_h(app):
    return auth_headers(UserFactory(role="staff"))


@pytest.fixture
def parent(app):
    return UserFactory(role="parent")


def book_seats(slot, child, *, status="confirmed", seats=1):
    """A committed booking holding ``seats`` of ``slot`` (booked_count moved like the engine does)."""
    from nibog.booking.models import Booking, BookingItem
    from nibog.booking.numbers import new_booking_number
    from nibog.catalog.models import EventGame, GameSlot

    slot = db.session.get(GameSlot, slot.id)
    event_id = db.session.get(EventGame, slot.event_game_id).event_id
    booking = Booking(
        booking_number=new_booking_number(), user_id=child.user_id, event_id=event_id,
        status=status, subtotal=0, discount=0, total=0,
    )
    db.session.add(booking)
    db.session.flush()
    live = status in ("pending_payment", "confirmed", "completed")
    db.session.add(BookingItem(booking_id=booking.id, child_id=child.id, slot_id=slot.id, price=0,
                               is_live=live))
    if live:
        slot.booked_count += seats
    db.session.commit()
    return booking.id

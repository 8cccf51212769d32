"""Shared catalog test helpers: users by role and a small booking writer."""

from __future__ import annotations

import pytest

from nibog.extensions import db
from tests.factories import LIVE, UserFactory, make_booking
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
    """A committed booking of ``child`` holding ``seats`` of ``slot`` (booked_count moved like
    the engine does); returns its id."""
    from nibog.accounts.models import User
    from nibog.catalog.models import GameSlot

    booking = make_booking(db.session.get(User, child.user_id), [(child, slot)], status=status,
                           price=0, seats=False)
    if status in LIVE:
        db.session.get(GameSlot, slot.id).booked_count += seats
        db.session.commit()
    return booking.id

"""With the real booking engine: a rolled-back booking sends nothing; a committed one sends
its email through a real SMTP server."""

from __future__ import annotations

from sqlalchemy import func, select

from nibog.accounts.models import User
from nibog.booking import service as booking_service
from nibog.booking.models import Booking
from nibog.catalog.models import EventGame
from nibog.core import boundary
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from tests.factories import ChildFactory, GameSlotFactory
from tests.notifications.conftest import smtp_server  # noqa: F401 - fixture


def _book(child, slot):
    event_id = db.session.get(EventGame, slot.event_game_id).event_id
    return booking_service.create_booking(
        user_id=child.user_id, event_id=event_id,
        items=[{"child_id": child.id, "slot_id": slot.id}], addons=None, promo_code=None,
        source="app",
    )


def test_rolled_back_booking_sends_nothing_and_committed_one_does(app, smtp_server):  # noqa: F811
    slot = GameSlotFactory()
    child = ChildFactory()

    _book(child, slot)
    boundary.rollback()
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    assert db.session.scalar(select(func.count()).select_from(NotificationLog)) == 0
    assert smtp_server.messages == []

    booking = _book(child, slot)
    number = booking.booking_number
    boundary.commit()
    [mail] = smtp_server.messages
    parent = db.session.get(User, child.user_id)
    assert number in mail["Subject"] and mail["To"] == parent.email
    assert "/pay" in mail.get_body(preferencelist=("plain",)).get_content()

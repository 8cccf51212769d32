"""Bookings with their event and games (committed), for document, message and report tests."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select

from nibog.booking.models import BookingAddon, BookingItem
from nibog.catalog.models import EventGame, GameSlot, GameTemplate
from nibog.core import boundary
from nibog.extensions import db
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    UserFactory,
)
from tests.factories import make_booking as book


def make_booking(*, user=None, event=None, status="confirmed", child_names=("Aarav",),
                 games=("Baby Crawling",), addon=None, price=79900, **event_kwargs):
    """A booking of every child into one slot of every game; returns (booking, info dict)."""
    user = user or UserFactory()
    event = event or EventFactory(**event_kwargs)
    slots = []
    for n, name in enumerate(games):
        existing = db.session.scalar(
            select(GameSlot).join(EventGame, EventGame.id == GameSlot.event_game_id)
            .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
            .where(EventGame.event_id == event.id, GameTemplate.name == f"{name} {event.id}")
        )
        if existing is not None:  # another booking in the same event: same slot
            slots.append(existing)
            continue
        template = GameTemplateFactory(name=f"{name} {event.id}")
        game = EventGameFactory(event=event, template=template)
        slots.append(GameSlotFactory(event_game=game, start_time=time(10 + n, 0),
                                     end_time=time(10 + n, 30)))
    children = [ChildFactory(parent=user, full_name=name) for name in child_names]
    lines = [(c, s) for c in children for s in slots]
    subtotal = price * len(lines) + (addon[2] * addon[1] if addon else 0)
    booking = book(user, lines, status=status, price=price, subtotal=subtotal)
    items = list(db.session.scalars(
        select(BookingItem).where(BookingItem.booking_id == booking.id).order_by(BookingItem.id)))
    if addon:
        name, qty, unit = addon
        from tests.factories import AddOnFactory

        add = AddOnFactory(event=event, name=name, price=unit)
        db.session.add(BookingAddon(booking_id=booking.id, addon_id=add.id, name=name, quantity=qty,
                                    unit_price=unit, total=unit * qty))
    boundary.commit()
    return booking, {"user": user, "event": event, "children": children, "slots": slots,
                     "items": items}

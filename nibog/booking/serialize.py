"""The contract's ``booking`` object, built for a page of bookings in a fixed number of queries."""

from __future__ import annotations

from sqlalchemy import select

from nibog.accounts.models import Child
from nibog.booking.models import Booking, BookingAddon, BookingItem, PromoCode
from nibog.catalog.models import Event, EventGame, GameSlot, GameTemplate, Venue
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db


def bookings_to_dicts(bookings: list[Booking]) -> list[dict]:
    if not bookings:
        return []
    ids = [b.id for b in bookings]
    items: dict[int, list[dict]] = {i: [] for i in ids}
    for item, child, slot, template in db.session.execute(
        select(BookingItem, Child, GameSlot, GameTemplate)
        .join(Child, Child.id == BookingItem.child_id)
        .join(GameSlot, GameSlot.id == BookingItem.slot_id)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
        .where(BookingItem.booking_id.in_(ids))
        .order_by(BookingItem.id)
    ):
        items[item.booking_id].append(
            {
                "id": item.id,
                "child": {"id": child.id, "full_name": child.full_name},
                "slot": {
                    "id": slot.id,
                    "start_time": slot.start_time.strftime("%H:%M"),
                    "end_time": slot.end_time.strftime("%H:%M"),
                    "game_name": template.name,
                },
                "price": item.price,
                "checked_in_at": isoformat_ist(item.checked_in_at),
            }
        )
    addons: dict[int, list[dict]] = {i: [] for i in ids}
    for a in db.session.scalars(
        select(BookingAddon).where(BookingAddon.booking_id.in_(ids)).order_by(BookingAddon.id)
    ):
        addons[a.booking_id].append(
            {
                "addon_id": a.addon_id,
                "variant_id": a.variant_id,
                "name": a.name,
                "quantity": a.quantity,
                "unit_price": a.unit_price,
                "total": a.total,
            }
        )
    events = {
        e.id: (e, v)
        for e, v in db.session.execute(
            select(Event, Venue)
            .join(Venue, Venue.id == Event.venue_id)
            .where(Event.id.in_({b.event_id for b in bookings}))
        )
    }
    promo_ids = {b.promo_code_id for b in bookings if b.promo_code_id}
    codes = (
        dict(db.session.execute(select(PromoCode.id, PromoCode.code).where(PromoCode.id.in_(promo_ids))).all())
        if promo_ids
        else {}
    )
    out = []
    for b in bookings:
        event, venue = events[b.event_id]
        out.append(
            {
                "id": b.id,
                "booking_number": b.booking_number,
                "status": b.status,
                "event": {
                    "id": event.id,
                    "title": event.title,
                    "event_date": event.event_date.isoformat(),
                    "venue": {"id": venue.id, "name": venue.name},
                },
                "items": items[b.id],
                "addons": addons[b.id],
                "subtotal": b.subtotal,
                "discount": b.discount,
                "total": b.total,
                "currency": b.currency,
                "promo_code": codes.get(b.promo_code_id),
                "hold_expires_at": isoformat_ist(b.hold_expires_at),
                "created_at": isoformat_ist(b.created_at),
                "cancelled_at": isoformat_ist(b.cancelled_at),
            }
        )
    return out


def booking_to_dict(booking: Booking) -> dict:
    return bookings_to_dicts([booking])[0]

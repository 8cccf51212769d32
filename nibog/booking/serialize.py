"""The contract's ``booking`` object, built for a page of bookings in a fixed number of queries.

A booking the engine has just written in this transaction is answered from the rows it holds
(``keep_for_answer``) instead of reading them back; any other booking is read with the queries
below. Both paths build the same JSON with the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect, select

from nibog.accounts.models import Child
from nibog.booking.models import Booking, BookingAddon, BookingItem, PromoCode
from nibog.catalog.models import Event, EventGame, GameSlot, GameTemplate, Venue
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db


def item_rows():
    """Booking items with their child, slot and game template; the caller filters and orders."""
    return (
        select(BookingItem, Child, GameSlot, GameTemplate)
        .join(Child, Child.id == BookingItem.child_id)
        .join(GameSlot, GameSlot.id == BookingItem.slot_id)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
    )


def _item_dict(item: BookingItem, child: Child, slot: GameSlot, template: GameTemplate) -> dict:
    return {
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


def _addon_dict(a: BookingAddon) -> dict:
    return {
        "addon_id": a.addon_id,
        "variant_id": a.variant_id,
        "name": a.name,
        "quantity": a.quantity,
        "unit_price": a.unit_price,
        "total": a.total,
    }


def _booking_dict(
    b: Booking, event: Event, venue: Venue, items: list[dict], addons: list[dict], code: str | None
) -> dict:
    return {
        "id": b.id,
        "booking_number": b.booking_number,
        "status": b.status,
        "event": {
            "id": event.id,
            "title": event.title,
            "event_date": event.event_date.isoformat(),
            "venue": {"id": venue.id, "name": venue.name},
        },
        "items": items,
        "addons": addons,
        "subtotal": b.subtotal,
        "discount": b.discount,
        "total": b.total,
        "currency": b.currency,
        "promo_code": code,
        "hold_expires_at": isoformat_ist(b.hold_expires_at),
        "created_at": isoformat_ist(b.created_at),
        "cancelled_at": isoformat_ist(b.cancelled_at),
    }


def bookings_to_dicts(bookings: list[Booking]) -> list[dict]:
    if not bookings:
        return []
    if len(bookings) == 1:
        answer = _from_written(bookings[0])
        if answer is not None:
            return [answer]
    ids = [b.id for b in bookings]
    items: dict[int, list[dict]] = {i: [] for i in ids}
    for item, child, slot, template in db.session.execute(
        item_rows()
        .where(BookingItem.booking_id.in_(ids))
        .order_by(BookingItem.id)
    ):
        items[item.booking_id].append(_item_dict(item, child, slot, template))
    addons: dict[int, list[dict]] = {i: [] for i in ids}
    for a in db.session.scalars(
        select(BookingAddon).where(BookingAddon.booking_id.in_(ids)).order_by(BookingAddon.id)
    ):
        addons[a.booking_id].append(_addon_dict(a))
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
        out.append(_booking_dict(b, event, venue, items[b.id], addons[b.id], codes.get(b.promo_code_id)))
    return out


def booking_to_dict(booking: Booking) -> dict:
    return bookings_to_dicts([booking])[0]


# --- a booking written in this transaction ---------------------------------------------------

_WRITTEN = "_nibog_written"
# Booking columns the answer reads: all loaded means the row was not expired by a commit since.
_BOOKING_FIELDS = (
    "id", "booking_number", "status", "event_id", "subtotal", "discount", "total", "currency",
    "promo_code_id", "hold_expires_at", "created_at", "cancelled_at",
)


@dataclass
class Written:
    """The rows a new booking was built from, held so its answer needs no reads."""

    event: Event
    venue: Venue
    items: list[tuple[BookingItem, Child, GameSlot, GameTemplate]]
    addons: list[BookingAddon]
    promo_code: str | None
    transaction: object = None


def keep_for_answer(booking: Booking, written: Written) -> None:
    written.transaction = db.session().get_transaction()
    setattr(booking, _WRITTEN, written)


def _from_written(b: Booking) -> dict | None:
    """The answer from the rows ``keep_for_answer`` holds, or None (then the queries answer).

    Only within the transaction that wrote them: once it ends, the database is the authority
    again (later changes, such as an item moved to another slot, are read back).
    """
    written: Written | None = getattr(b, _WRITTEN, None)
    if written is None or written.transaction is not db.session().get_transaction():
        return None
    loaded = inspect(b).dict
    if not all(f in loaded for f in _BOOKING_FIELDS) or written.event.id != b.event_id:
        return None
    items = [
        _item_dict(item, child, slot, template)
        for item, child, slot, template in sorted(written.items, key=lambda row: row[0].id)
    ]
    addons = [_addon_dict(a) for a in sorted(written.addons, key=lambda a: a.id)]
    return _booking_dict(b, written.event, written.venue, items, addons, written.promo_code)

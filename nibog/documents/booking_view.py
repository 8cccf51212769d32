"""A booking as documents and messages show it: plain values, loaded fresh in a few queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from nibog.accounts.models import User
from nibog.booking.models import (
    CONFIRMED_BOOKING_STATUSES,
    Booking,
    BookingAddon,
    BookingItem,
)
from nibog.booking.serialize import item_rows
from nibog.catalog.models import City, Event, GameSlot, Venue
from nibog.core import i18n
from nibog.core.errors import NotFound
from nibog.core.money import format_inr
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db

TICKET_STATUSES = CONFIRMED_BOOKING_STATUSES


def _hm(value) -> str:
    # The API's form; documents and messages write it the Indian way (``i18n.clock``).
    return value.strftime("%H:%M") if value else ""


def document_language(view: dict[str, Any], language: str | None = None) -> str:
    """The language a document is printed in: the one asked for (the page or message it comes
    from), else the account's (``User.language``), else the request's, else the site's first."""
    language = language or view.get("language") or i18n.current_language()
    return language if language in i18n.languages() else i18n.languages()[0]


def load_booking_view(booking_id: int) -> dict[str, Any]:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("Booking")
    event = db.session.get(Event, booking.event_id)
    venue = db.session.get(Venue, event.venue_id)
    city = db.session.get(City, event.city_id)
    rows = db.session.execute(
        item_rows()
        .where(BookingItem.booking_id == booking_id)
        .order_by(GameSlot.start_time, BookingItem.id)
    ).all()
    addons = db.session.scalars(
        select(BookingAddon).where(BookingAddon.booking_id == booking_id).order_by(BookingAddon.id)
    ).all()
    owner = db.session.get(User, booking.user_id) if booking.user_id else None
    items = [
        {
            "id": item.id,
            "child_id": child.id,
            "child_name": child.full_name,
            "game_name": template.name,
            "start_time": _hm(slot.start_time),
            "end_time": _hm(slot.end_time),
            "is_live": item.is_live,
            "attendance": item.attendance,
            "result_position": item.result_position,
            "checked_in_at": isoformat_ist(item.checked_in_at),
            "certificate_path": item.certificate_path,
        }
        for item, child, slot, template in rows
    ]
    return {
        "booking_id": booking.id,
        "booking_number": booking.booking_number,
        "status": booking.status,
        "user_id": booking.user_id,
        "language": owner.language if owner else None,
        "parent_name": (owner.full_name if owner else None) or booking.guest_name or "",
        "email": (owner.email if owner else None) or booking.guest_email,
        "phone": (owner.phone if owner else None) or booking.guest_phone,
        "event": {
            "id": event.id,
            "title": event.title,
            "event_date": event.event_date.isoformat(),
            "date_display": event.event_date.strftime("%a, %d %b %Y"),
            "start_time": _hm(event.start_time),
            "end_time": _hm(event.end_time),
            "status": event.status,
            "certificate_template": event.certificate_template,
        },
        "venue": {
            "name": venue.name,
            "address": venue.address,
            "city": city.name if city else "",
        },
        "items": items,
        "live_items": [i for i in items if i["is_live"]],
        "addons": [
            {
                "name": a.name,
                "quantity": a.quantity,
                "unit_price": a.unit_price,
                "total": a.total,
                "total_display": format_inr(a.total),
            }
            for a in addons
        ],
        "subtotal": booking.subtotal,
        "discount": booking.discount,
        "total": booking.total,
        "total_display": format_inr(booking.total),
        "currency": booking.currency,
        "hold_expires_at": isoformat_ist(booking.hold_expires_at),
    }

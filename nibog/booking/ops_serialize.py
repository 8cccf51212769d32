"""Bookings as the admin, check-in and partner endpoints show them.

The shape follows the contract's ``booking`` object; the admin view adds who booked, how, the
payment mode and per-item attendance and results.
"""

from __future__ import annotations

from sqlalchemy import select

from nibog.accounts.models import Child, User
from nibog.booking.models import Booking, BookingAddon, BookingItem
from nibog.catalog.models import Event, EventGame, GameSlot, GameTemplate, Venue
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db


def _items(booking_id: int, *, live_only: bool = False) -> list[dict]:
    stmt = (
        select(BookingItem, Child, GameSlot, GameTemplate)
        .join(Child, Child.id == BookingItem.child_id)
        .join(GameSlot, GameSlot.id == BookingItem.slot_id)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
        .where(BookingItem.booking_id == booking_id)
        .order_by(BookingItem.id)
    )
    if live_only:
        stmt = stmt.where(BookingItem.is_live.is_(True))
    out = []
    for item, child, slot, template in db.session.execute(stmt):
        out.append(
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
                "attendance": item.attendance,
                "result_position": item.result_position,
                "is_live": item.is_live,
            }
        )
    return out


def _addons(booking_id: int) -> list[dict]:
    rows = db.session.scalars(
        select(BookingAddon).where(BookingAddon.booking_id == booking_id).order_by(BookingAddon.id)
    )
    return [
        {
            "addon_id": a.addon_id,
            "variant_id": a.variant_id,
            "name": a.name,
            "quantity": a.quantity,
            "unit_price": a.unit_price,
            "total": a.total,
        }
        for a in rows
    ]


def booking_dict(booking: Booking) -> dict:
    event = db.session.get(Event, booking.event_id)
    venue = db.session.get(Venue, event.venue_id)
    promo = None
    if booking.promo_code_id is not None:
        from nibog.booking.models import PromoCode

        promo = db.session.get(PromoCode, booking.promo_code_id).code
    return {
        "id": booking.id,
        "booking_number": booking.booking_number,
        "status": booking.status,
        "event": {
            "id": event.id,
            "title": event.title,
            "event_date": event.event_date.isoformat(),
            "venue": {"id": venue.id, "name": venue.name},
        },
        "items": _items(booking.id),
        "addons": _addons(booking.id),
        "subtotal": booking.subtotal,
        "discount": booking.discount,
        "total": booking.total,
        "currency": booking.currency,
        "promo_code": promo,
        "hold_expires_at": isoformat_ist(booking.hold_expires_at),
        "created_at": isoformat_ist(booking.created_at),
        "cancelled_at": isoformat_ist(booking.cancelled_at),
    }


def admin_booking_dict(booking: Booking) -> dict:
    out = booking_dict(booking)
    user = db.session.get(User, booking.user_id) if booking.user_id else None
    out.update(
        {
            "source": booking.source,
            "payment_mode": booking.payment_mode,
            "user": (
                {
                    "id": user.id,
                    "full_name": user.full_name,
                    "email": user.email,
                    "phone": user.phone,
                }
                if user
                else None
            ),
            "guest": (
                {
                    "full_name": booking.guest_name,
                    "email": booking.guest_email,
                    "phone": booking.guest_phone,
                }
                if booking.guest_email
                else None
            ),
            "partner_id": booking.partner_id,
            "external_ref": booking.external_ref,
            "confirmed_at": isoformat_ist(booking.confirmed_at),
            "expired_at": isoformat_ist(booking.expired_at),
            "completed_at": isoformat_ist(booking.completed_at),
            "cancel_reason": booking.cancel_reason,
        }
    )
    return out

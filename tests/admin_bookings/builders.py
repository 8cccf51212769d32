"""Bookings written straight to the database, with seat counts kept consistent.

For tests of the operations around bookings (check-in, stats, moves, reviews) that should not
depend on the booking engine's own rules.
"""

from __future__ import annotations

from datetime import timedelta

from nibog.booking.models import Booking, BookingItem
from nibog.booking.numbers import new_booking_number
from nibog.catalog.models import EventGame, GameSlot
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.payments.models import Payment, Refund


def make_booking(user, pairs, *, status="confirmed", price=79900, payment_mode="online", **extra):
    """``pairs`` = [(child, slot), ...]; live statuses take a seat in each slot."""
    slot = pairs[0][1]
    event_id = db.session.get(EventGame, slot.event_game_id).event_id
    live = status in ("pending_payment", "confirmed", "completed")
    total = price * len(pairs)
    booking = Booking(
        booking_number=new_booking_number(),
        user_id=user.id if user else None,
        event_id=event_id,
        status=status,
        source=extra.pop("source", "app"),
        subtotal=total,
        total=total,
        payment_mode=payment_mode,
        hold_expires_at=utcnow() + timedelta(minutes=15) if status == "pending_payment" else None,
        confirmed_at=utcnow() if status in ("confirmed", "completed") else None,
        **extra,
    )
    db.session.add(booking)
    db.session.flush()
    for child, s in pairs:
        db.session.add(
            BookingItem(
                booking_id=booking.id, child_id=child.id, slot_id=s.id, price=price, is_live=live
            )
        )
        if live:
            db.session.get(GameSlot, s.id).booked_count += 1
    db.session.commit()
    return booking


def pay(booking, *, refunded=0, refund_status="processed", captured_at=None):
    """A captured payment for the booking, optionally with one refund."""
    payment = Payment(
        booking_id=booking.id,
        user_id=booking.user_id,
        provider="sandbox",
        provider_order_id=f"order_{booking.id}_{booking.booking_number}",
        provider_payment_id=f"pay_{booking.id}_{booking.booking_number}",
        amount=booking.total,
        status="captured" if not refunded else "refunded",
        captured_at=captured_at or utcnow(),
        amount_refunded=refunded if refund_status == "processed" else 0,
    )
    db.session.add(payment)
    db.session.flush()
    if refunded:
        db.session.add(Refund(payment_id=payment.id, amount=refunded, status=refund_status))
    db.session.commit()
    return payment

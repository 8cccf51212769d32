"""Admin status changes that add a rule on top of the engine's lifecycle functions."""

from __future__ import annotations

from sqlalchemy import select

from nibog.booking.models import Booking
from nibog.extensions import db


def confirm_offline(booking_id: int, *, source: str = "admin") -> Booking:
    """The admin marks a booking paid (cash at the desk, bank transfer...).

    Without a captured online payment the money came in outside the gateway, so the booking is
    recorded as cash: the dashboard then counts it as revenue, and a later cancellation does not
    ask the gateway for a refund it never took.
    """
    from nibog.booking.service import confirm_booking
    from nibog.payments.models import Payment

    booking = db.session.get(Booking, booking_id)
    if booking is not None and booking.status in ("pending_payment", "expired"):
        paid_online = db.session.scalar(
            select(Payment.id).where(
                Payment.booking_id == booking_id, Payment.captured_at.is_not(None)
            )
        )
        if paid_online is None:
            booking.payment_mode = "cash"
    return confirm_booking(booking_id, source=source)

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
    from nibog.booking.lifecycle import lock_booking
    from nibog.booking.service import confirm_booking
    from nibog.payments.models import Payment
    from nibog.payments.refunds import REFUNDABLE_STATUSES

    # Locked before its payments are read: a capture in flight either committed already (and
    # is seen here) or waits, then finds the booking paid and refunds itself.
    booking = lock_booking(booking_id)
    if booking.status in ("pending_payment", "expired"):
        # Money still held online: a late payment already refunded in full does not count.
        paid_online = db.session.scalar(
            select(Payment.id).where(
                Payment.booking_id == booking_id, Payment.status.in_(REFUNDABLE_STATUSES)
            )
        )
        if paid_online is None:
            booking.payment_mode = "cash"
    return confirm_booking(booking_id, source=source)


def complete_single(booking_id: int) -> Booking:
    """The admin marks one confirmed booking completed (``complete_event`` does a whole event).

    Completed means the event took place for this child - it unlocks the participation
    certificate - so it is refused before the event's date. Completing a completed booking
    changes nothing.
    """
    from nibog.booking.lifecycle import lock_booking
    from nibog.catalog.models import Event
    from nibog.core.errors import Conflict
    from nibog.core.timeutil import today_ist, utcnow

    booking = lock_booking(booking_id)
    if booking.status == "completed":
        return booking
    if booking.status != "confirmed":
        raise Conflict(
            "booking_not_completable",
            f"Only a confirmed booking can be completed; this one is {booking.status}",
            {"status": booking.status},
        )
    event_date = db.session.scalar(select(Event.event_date).where(Event.id == booking.event_id))
    if event_date > today_ist():
        raise Conflict(
            "event_not_held_yet",
            "A booking can be completed on or after its event's date",
            {"event_date": event_date.isoformat()},
        )
    booking.status = "completed"
    booking.completed_at = utcnow()
    db.session.flush()
    return booking

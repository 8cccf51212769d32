"""Booking jobs: thin wrappers that call the engine (the job runner commits; batches commit
each unit of work on their own)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from nibog.booking.counts import seats_changed  # noqa: F401 - outbox rows queued before the move
from nibog.booking.idempotency import purge_expired
from nibog.booking.lifecycle import EXPIRY_BATCH, complete_event
from nibog.booking.models import OPEN_BOOKING_STATUSES, Booking
from nibog.booking.service import cancel_booking
from nibog.booking.service import expire_holds as expire
from nibog.catalog.models import Event, EventStatus
from nibog.core import boundary
from nibog.core.jobs import job
from nibog.extensions import db

log = logging.getLogger(__name__)


def expire_holds() -> int:
    """Periodic: expire every overdue hold, one committed batch at a time."""
    total = 0
    while True:
        with boundary.unit_of_work():  # short transactions: a burst's holds expire in batches
            count = expire()
        total += count
        if count < EXPIRY_BATCH:
            return total


def on_event_ended(event_id: int, *, status: str, actor_id: int | None) -> None:
    """Receiver of ``signals.event_ended``: a cancelled event's live bookings are cancelled
    (and refunded) in a job after the commit; a completed event's bookings complete now."""
    if status == "cancelled":
        cancel_event_bookings.delay(event_id, actor_id)
    elif status == "completed":
        complete_event(event_id)


@job("default")
def cancel_event_bookings(event_id: int, actor_id: int | None = None) -> int:
    """The event was cancelled: cancel and fully refund every live booking, one commit each.

    Safe to run twice: bookings already cancelled are no longer selected.
    """
    ids = list(
        db.session.scalars(
            select(Booking.id)
            .where(Booking.event_id == event_id, Booking.status.in_(OPEN_BOOKING_STATUSES))
            .order_by(Booking.id)
        )
    )
    boundary.rollback()  # end the read; each cancellation is its own transaction
    done = 0
    for booking_id in ids:
        try:
            with boundary.unit_of_work():
                cancel_booking(booking_id, actor_id=actor_id, reason="Event cancelled", by_admin=True)
            done += 1
        except Exception:
            log.exception("cancelling booking %s of cancelled event %s failed", booking_id, event_id)
    return done


def cancel_bookings_of_cancelled_events() -> int:
    """Periodic backstop of ``cancel_event_bookings``: a booking that committed just after its
    event's cancellation listed the bookings (it read the event while still published), or one
    whose cancellation failed there, is cancelled and refunded here."""
    event_ids = list(
        db.session.scalars(
            select(Booking.event_id)
            .join(Event, Event.id == Booking.event_id)
            .where(Event.status == EventStatus.CANCELLED,
                   Booking.status.in_(OPEN_BOOKING_STATUSES))
            .distinct()
        )
    )
    boundary.rollback()
    return sum(cancel_event_bookings(event_id) for event_id in sorted(event_ids))


def purge_idempotency_keys() -> int:
    return purge_expired()


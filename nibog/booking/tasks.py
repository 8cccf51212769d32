"""Booking jobs: thin wrappers that call the engine (the job runner commits; batches commit
each unit of work on their own)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select, update

from nibog.booking.models import OPEN_BOOKING_STATUSES
from nibog.catalog.models import EventStatus
from nibog.core import boundary
from nibog.core.jobs import job
from nibog.extensions import db

log = logging.getLogger(__name__)


def expire_holds() -> int:
    """Periodic: expire every overdue hold, one committed batch at a time."""
    from nibog.booking.lifecycle import EXPIRY_BATCH
    from nibog.booking.service import expire_holds as expire

    total = 0
    while True:
        with boundary.unit_of_work():  # short transactions: a burst's holds expire in batches
            count = expire()
        total += count
        if count < EXPIRY_BATCH:
            return total


@job("default")
def cancel_event_bookings(event_id: int, actor_id: int | None = None) -> int:
    """The event was cancelled: cancel and fully refund every live booking, one commit each.

    Safe to run twice: bookings already cancelled are no longer selected.
    """
    from nibog.booking.models import Booking
    from nibog.booking.service import cancel_booking

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
    from nibog.booking.models import Booking
    from nibog.catalog.models import Event

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


@job("default")
def seats_changed(event_id: int) -> None:
    """After a commit that moved seats: refresh the event's live booking count, drop caches."""
    from nibog.booking.models import LIVE_BOOKING_STATUSES, Booking
    from nibog.catalog.models import Event

    # One statement, so the last job to run after a burst writes a count that saw every commit.
    live = (
        select(func.count())
        .select_from(Booking)
        .where(Booking.event_id == event_id, Booking.status.in_(LIVE_BOOKING_STATUSES))
        .scalar_subquery()
    )
    db.session.execute(update(Event).where(Event.id == event_id).values(bookings_count=live, updated_at=Event.updated_at))
    from nibog.catalog.cache import invalidate_event

    invalidate_event(event_id)


def purge_idempotency_keys() -> int:
    from nibog.booking.idempotency import purge_expired

    return purge_expired()


"""The job that keeps an event's live booking count and caches in step with its seats. The
booking engine queues it after every change of seats; it imports nothing of the engine, so the
engine can import it (``booking/tasks.py``, whose jobs drive the engine, cannot be).
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from nibog.booking.models import LIVE_BOOKING_STATUSES, Booking
from nibog.catalog.cache import invalidate_event
from nibog.catalog.models import Event
from nibog.core.jobs import job
from nibog.extensions import db


@job("default")
def seats_changed(event_id: int) -> None:
    """After a commit that moved seats: refresh the event's live booking count, drop caches."""
    # One statement, so the last job to run after a burst writes a count that saw every commit.
    live = (
        select(func.count())
        .select_from(Booking)
        .where(Booking.event_id == event_id, Booking.status.in_(LIVE_BOOKING_STATUSES))
        .scalar_subquery()
    )
    db.session.execute(update(Event).where(Event.id == event_id).values(bookings_count=live, updated_at=Event.updated_at))

    invalidate_event(event_id)

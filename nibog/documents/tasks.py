"""Document jobs: certificates for a whole event, generated when the event is completed."""

from __future__ import annotations

import logging

from sqlalchemy import select

from nibog.booking.models import Booking
from nibog.core import boundary, locking
from nibog.core.errors import AppError
from nibog.core.jobs import job
from nibog.documents.booking_view import TICKET_STATUSES, load_booking_view
from nibog.documents.certificates import certificate_for, eligible_children
from nibog.extensions import db
from nibog.notifications.service import queue_email, queue_whatsapp_update

log = logging.getLogger(__name__)


def on_event_ended(event_id: int, *, status: str, actor_id: int | None) -> None:
    """Receiver of ``signals.event_ended``: a completed event's certificates, after the commit."""
    if status == "completed":
        generate_event_certificates.delay(event_id)


@job("default")
def generate_event_certificates(event_id: int) -> int:
    """Generate and store every certificate of the event; email each family once.

    Safe to run twice: stored certificates are reused and only a booking that got a new
    certificate is emailed. One transaction per booking keeps locks short and progress durable.
    Runs for one event are exclusive (a second run waits, then finds everything stored): two at
    once both found a booking's certificates missing and e-mailed the family twice.
    Returns the number of certificates generated.
    """
    with locking.exclusive(f"event-certificates:{event_id}", "certificate_run_lock"):
        return _generate_event_certificates(event_id)


def _generate_event_certificates(event_id: int) -> int:
    booking_ids = db.session.scalars(
        select(Booking.id)
        .where(Booking.event_id == event_id, Booking.status.in_(TICKET_STATUSES))
        .order_by(Booking.id)
    ).all()
    boundary.rollback()
    generated = 0
    for booking_id in booking_ids:
        try:
            with boundary.unit_of_work():
                view = load_booking_view(booking_id)
                locking.pause("certificates_read")
                children = eligible_children(view)
                new = [c for c in children if certificate_for(booking_id, c, view)[1]]
                if new and view["email"]:
                    queue_email(
                        "certificate_ready", view["email"],
                        {"booking_id": booking_id, "child_ids": children},
                        user_id=view["user_id"], booking_id=booking_id,
                    )
                if new:
                    queue_whatsapp_update(
                        "certificate_ready", view["phone"], {"booking_id": booking_id},
                        user_id=view["user_id"], booking_id=booking_id,
                    )
            generated += len(new)
        except AppError as exc:
            log.warning("no certificates for booking %s: %s", booking_id, exc.message)
    return generated

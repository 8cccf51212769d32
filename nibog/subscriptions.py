"""Who listens to what the lower layers announce (``nibog/core/signals.py``), connected once at
start-up by ``create_app``: the one place that shows which feature reacts to which change.
"""

from __future__ import annotations

from nibog.booking import guests, lifecycle
from nibog.booking import tasks as booking_tasks
from nibog.core import signals
from nibog.documents import tasks as documents_tasks
from nibog.notifications import tasks as notifications_tasks
from nibog.waitlist import tasks as waitlist_tasks


def connect() -> None:
    """Idempotent (each signal keeps one connection per receiver): tests build several apps."""
    signals.notification_queued.connect(notifications_tasks.on_notification_queued)
    signals.email_verified.connect(guests.attach_guest_bookings)
    signals.account_closed.connect(lifecycle.release_unpaid_holds_for_user)
    signals.seats_freed.connect(waitlist_tasks.on_seats_freed)
    signals.payment_captured.connect(lifecycle.on_payment_captured)
    # Order matters: the bookings complete before the certificates job is queued.
    signals.event_ended.connect(booking_tasks.on_event_ended)
    signals.event_ended.connect(documents_tasks.on_event_ended)

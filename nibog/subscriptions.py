"""Who listens to what the lower layers announce (``nibog/core/signals.py``), connected once at
start-up by ``create_app``: the one place that shows which feature reacts to which change.
"""

from __future__ import annotations

from nibog.booking import lifecycle
from nibog.booking.waitlist import tasks as waitlist_tasks
from nibog.core import signals


def connect() -> None:
    """Idempotent: blinker keeps one connection per receiver, and tests build several apps."""
    signals.seats_freed.connect(waitlist_tasks.on_seats_freed)
    signals.payment_captured.connect(lifecycle.on_payment_captured)

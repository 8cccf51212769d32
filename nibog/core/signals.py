"""What the booking core announces, for the features above it to act on.

A lower layer must not import a higher one, yet some of its changes matter to one: a freed seat
is owed to the waiting list, a captured payment confirms its booking, a cancelled event cancels
its bookings. The lower layer sends one of these signals (blinker, Flask's own); the higher
layer's receiver is connected once at start-up by ``nibog/subscriptions.py``. Receivers run
synchronously, in the sender's transaction: a job they queue goes out after the commit, and an
error they raise rolls the whole unit back, exactly as when the call was direct.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A slot has a free seat again (cancellation, expiry, a move, capacity raised, reopened).
#: ``send(slot_id)``; the waiting list offers it.
seats_freed = _signals.signal("seats-freed")

#: A payment for a booking was captured. ``send(booking_id, source=...)``; the booking engine
#: confirms the booking, or raises an AppError (seats gone, booking cancelled) that the sender
#: answers with a refund.
payment_captured = _signals.signal("payment-captured")


def announce_seats_freed(slot_ids) -> None:
    for slot_id in slot_ids:
        seats_freed.send(slot_id)


def announce_payment_captured(booking_id: int, *, source: str) -> None:
    """Money was taken for this booking: someone must confirm it (or refuse, by raising)."""
    if not payment_captured.receivers:
        # A captured payment nobody confirms would be lost silently: start-up must wire it.
        raise RuntimeError("no receiver for payment_captured: nibog.subscriptions.connect()")
    payment_captured.send(booking_id, source=source)

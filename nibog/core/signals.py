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


def announce_seats_freed(slot_ids) -> None:
    for slot_id in slot_ids:
        seats_freed.send(slot_id)

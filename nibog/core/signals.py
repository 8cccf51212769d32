"""What the booking core announces, for the features above it to act on.

A lower layer must not import a higher one, yet some of its changes matter to one: a freed seat
is owed to the waiting list, a captured payment confirms its booking, a cancelled event cancels
its bookings. The lower layer sends one of these signals; the higher layer's receiver is
connected once at start-up by ``nibog/subscriptions.py``. Receivers run synchronously, in the
order they were connected, in the sender's transaction: a job they queue goes out after the
commit, and an error they raise reaches the sender (and rolls the unit back), exactly as when the
call was direct. (Not blinker: its receivers are weakly held and run in no fixed order.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Signal:
    def __init__(self, name: str) -> None:
        self.name = name
        self.receivers: list[Callable[..., Any]] = []

    def connect(self, receiver: Callable[..., Any]) -> None:
        """Idempotent: tests build several apps, each connecting at start-up."""
        if receiver not in self.receivers:
            self.receivers.append(receiver)

    def send(self, *args: Any, **kwargs: Any) -> list[Any]:
        """Each receiver's answer, in order."""
        return [receiver(*args, **kwargs) for receiver in self.receivers]

    def __repr__(self) -> str:
        return f"<Signal {self.name}>"


#: A slot has a free seat again (cancellation, expiry, a move, capacity raised, reopened).
#: ``send(slot_id)``; the waiting list offers it.
seats_freed = Signal("seats-freed")

#: A payment for a booking was captured. ``send(booking_id, source=...)``; the booking engine
#: confirms the booking, or raises an AppError (seats gone, booking cancelled) that the sender
#: answers with a refund.
payment_captured = Signal("payment-captured")

#: An event was cancelled or completed. ``send(event_id, status=..., actor_id=...)``; the booking
#: engine cancels (and refunds) or completes its bookings, documents makes the certificates.
event_ended = Signal("event-ended")

#: A message was logged as queued. ``send(log_id, context)``; the delivery job is queued.
notification_queued = Signal("notification-queued")

#: A user proved their e-mail address. ``send(user)``; guest bookings made with it join them.
email_verified = Signal("email-verified")

#: An account was closed (deactivated, anonymised). ``send(user_id)``; each receiver answers
#: how many of the user's seats it released (the booking engine: their unpaid holds).
account_closed = Signal("account-closed")


def announce_seats_freed(slot_ids) -> None:
    for slot_id in slot_ids:
        seats_freed.send(slot_id)


def announce_payment_captured(booking_id: int, *, source: str) -> None:
    """Money was taken for this booking: someone must confirm it (or refuse, by raising)."""
    if not payment_captured.receivers:
        # A captured payment nobody confirms would be lost silently: start-up must wire it.
        raise RuntimeError("no receiver for payment_captured: nibog.subscriptions.connect()")
    payment_captured.send(booking_id, source=source)


def announce_event_ended(event_id: int, *, status: str, actor_id: int | None) -> None:
    event_ended.send(event_id, status=status, actor_id=actor_id)


def announce_notification_queued(log_id: int, context: dict) -> None:
    if not notification_queued.receivers:
        # A message logged as queued that no job ever sends: start-up must wire it.
        raise RuntimeError("no receiver for notification_queued: nibog.subscriptions.connect()")
    notification_queued.send(log_id, context)

"""Waiting-list jobs: offer freed seats, and pass on offers that were not taken."""

from __future__ import annotations

from nibog.core.jobs import job
from nibog.waitlist.offers import expire_offers, offer_seats, stranded_slots


def on_seats_freed(slot_id: int) -> None:
    """Receiver of ``signals.seats_freed``: a freed seat goes to the waiting list first."""
    offer_waitlist_seats.delay(slot_id)


@job("default")
def offer_waitlist_seats(slot_id: int) -> int:
    """Enqueued by whoever frees seats in a slot (cancel, hold expiry, capacity raised)."""
    offers = offer_seats(slot_id)
    return offers


def expire_waitlist_offers() -> int:
    """Periodic: unpaid offers past their deadline expire; their slots, and any open slot with
    free seats and children waiting, are offered again."""
    slots = expire_offers() | stranded_slots()
    for slot_id in sorted(slots):
        offer_waitlist_seats.delay(slot_id)
    return len(slots)

"""Whether children wait for a slot: the one fact about the waiting list that the booking
engine (a free seat owed to the queue is not for sale) and the catalog's listing need. It reads
the model only, so those layers below the waiting list (``nibog/waitlist/``) can use it.
"""

from __future__ import annotations

from sqlalchemy import exists

from nibog.booking.models import WaitingListEntry, WaitlistStatus


def queued_for(slot_id):
    """Whether anyone waits for the slot (an id, or a slot id column in a larger query): while
    so, its free seats are the queue's (``holds.reject_owed_to_waiting_list``)."""
    return exists().where(WaitingListEntry.slot_id == slot_id, WaitingListEntry.status == WaitlistStatus.WAITING)

"""Waiting lists as staff see them: the slots with a queue, who waits in each, the offers
made, and offering by hand (the next in line now, or one chosen entry)."""

from __future__ import annotations

from sqlalchemy import func, select

from nibog.accounts.models import Child, User
from nibog.booking.models import Booking, WaitingListEntry
from nibog.booking.service import create_booking
from nibog.catalog.models import Event, EventGame, GameSlot, GameTemplate
from nibog.core.audit import record, snapshot
from nibog.core.errors import Conflict, NotFound
from nibog.core.timeutil import today_ist
from nibog.extensions import db
from nibog.waitlist.entries import positions, skip_reasons
from nibog.waitlist.offers import mark_offered, offer_seats

_entry = WaitingListEntry
# Entries per slot and state (one row per slot that ever had a queue).
_COUNTS = (
    select(
        _entry.slot_id,
        func.count().filter(_entry.status == "waiting").label("waiting"),
        func.count().filter(_entry.status == "offered").label("offered"),
        func.count().filter(_entry.status == "booked").label("booked"),
    )
    .group_by(_entry.slot_id)
    .subquery("queue_counts")
)
QUEUE_SORTS = {
    "event_date": Event.event_date,
    "waiting": _COUNTS.c.waiting,
    "start": GameSlot.start_time,
}


def slot_queue_rows(filters: dict):
    """Slots with waiting-list entries: (slot, event, game name, waiting, offered, booked).

    ``filters``: event_id; ``state`` "active" (default: someone waits or holds an offer) or
    "all" (any slot that ever had a queue); upcoming (only events from today on).
    """
    counts = _COUNTS
    stmt = (
        select(GameSlot, Event, GameTemplate.name, counts.c.waiting, counts.c.offered,
               counts.c.booked)
        .join(counts, counts.c.slot_id == GameSlot.id)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
        .join(Event, Event.id == EventGame.event_id)
    )
    if filters.get("event_id"):
        stmt = stmt.where(Event.id == filters["event_id"])
    if (filters.get("state") or "active") == "active":
        stmt = stmt.where((counts.c.waiting + counts.c.offered) > 0)
    if filters.get("upcoming"):
        stmt = stmt.where(Event.event_date >= today_ist())
    return stmt


def slot_queue(slot_id: int) -> dict:
    """One slot's list: every entry in queue order with child, parent, position, the offer's
    booking and, for passed-over entries, why."""
    slot = db.session.get(GameSlot, slot_id)
    if slot is None:
        raise NotFound("Slot")
    game = db.session.get(EventGame, slot.event_game_id)
    event = db.session.get(Event, game.event_id)
    rows = db.session.execute(
        select(WaitingListEntry, Child, User, Booking)
        .join(Child, Child.id == WaitingListEntry.child_id)
        .join(User, User.id == WaitingListEntry.user_id)
        .outerjoin(Booking, Booking.id == WaitingListEntry.offered_booking_id)
        .where(WaitingListEntry.slot_id == slot_id)
        .order_by(WaitingListEntry.created_at, WaitingListEntry.id)
    ).all()
    entries = [r[0] for r in rows]
    ranks = positions(entries)
    reasons = skip_reasons(entries)
    return {
        "slot": slot,
        "event": event,
        "game": game.template.name,
        "free": max(0, slot.capacity - slot.booked_count),
        "entries": [
            {"entry": e, "child": c, "parent": u, "booking": b, "position": ranks.get(e.id),
             "skip_reason": reasons.get(e.id)}
            for e, c, u, b in rows
        ],
    }


def offer_next(slot_id: int, *, actor_id: int, client_ip: str | None = None) -> int:
    """Run the offer round now (what a freed seat does by itself): free seats go to the
    first in line. Returns the offers made (0 when the slot has no free seat)."""
    if db.session.get(GameSlot, slot_id) is None:
        raise NotFound("Slot")
    offers = offer_seats(slot_id)
    record("waitlist.offer_round", entity_type="game_slots", entity_id=slot_id,
           actor_id=actor_id, client_ip=client_ip, after={"offers": offers})
    return offers


def offer_entry(entry_id: int, *, actor_id: int, client_ip: str | None = None) -> Booking:
    """Offer a free seat to this entry, ahead of the queue (staff's call: a sibling already
    booked in the slot, a promise made on the phone). The seat must be free: staff raise
    the capacity first if not. The offer is the usual one: a held booking and a message."""
    entry = db.session.scalar(
        select(WaitingListEntry).where(WaitingListEntry.id == entry_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if entry is None:
        raise NotFound("Waiting list entry")
    if entry.status != "waiting":
        raise Conflict("entry_not_waiting", f"This entry is {entry.status}, not waiting",
                       {"status": entry.status})
    slot = db.session.scalar(
        select(GameSlot).where(GameSlot.id == entry.slot_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if slot.booked_count >= slot.capacity:
        raise Conflict("slot_full", "The slot has no free seat: raise its capacity first",
                       {"slot_ids": [slot.id]})
    event_id = db.session.scalar(select(EventGame.event_id).where(EventGame.id == slot.event_game_id))
    before = snapshot(entry)
    # The engine's own rules (eligibility, the child not booked there already); its refusal
    # is the answer, and the entry stays waiting.
    booking = create_booking(
        user_id=entry.user_id, event_id=event_id,
        items=[{"child_id": entry.child_id, "slot_id": slot.id}], addons=[],
        promo_code=None, source="waitlist",
    )
    mark_offered(entry, booking)
    record("waitlist.offer", entry, actor_id=actor_id, before=before, client_ip=client_ip)
    return booking

"""Waiting list for full slots: joining, leaving, places in the queue (offers: ``offers``).

A parent queues a child for a full slot. When seats free up (a cancellation, an expired hold, a
raised capacity) ``offer_seats`` walks the queue in order and, while seats are free, *holds a
seat* for the next child: a ``pending_payment`` booking through the normal booking engine, so
prices, eligibility and capacity rules are the same as for any booking. The parent is notified
and has ``WAITLIST_OFFER_SECONDS`` to pay; an unpaid offer expires with its hold, which frees the
seat again and passes it to the next entry.

While anyone is waiting, the slot's free seats are the queue's: a booking from anywhere else is
answered ``slot_full`` (details ``waiting_list: true``) and joining the list is allowed, so a
seat freed in the seconds before the offer round runs cannot go to whoever asks first
(``holds.reject_owed_to_waiting_list``). An admin moving a booked child between slots is not
held back by it.

Entry states: waiting → offered → booked, or → expired (offer not taken) / cancelled (left the
list, or skipped because the child could no longer be booked). Only waiting and offered are
active; a partial unique index keeps one active entry per child and slot.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from nibog.accounts.models import Child
from nibog.booking.eligibility import check_eligible, ensure_registration_open
from nibog.booking.models import (
    CONFIRMED_BOOKING_STATUSES,
    Booking,
    BookingItem,
    BookingStatus,
    WaitingListEntry,
    WaitlistStatus,
)
from nibog.booking.service import cancel_booking
from nibog.booking.waitlist_queue import queued_for
from nibog.catalog.models import Event, EventGame, GameSlot
from nibog.core import locking
from nibog.core.audit import AuditLog
from nibog.core.errors import AppError, Conflict, NotFound
from nibog.core.timeutil import isoformat_ist, utcnow
from nibog.extensions import db

log = logging.getLogger(__name__)

ACTIVE = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
# Refusals from the booking engine that concern everyone in the queue: the round stops and the
# queue keeps its order. Any other refusal (already_booked, child_not_eligible, a deleted
# child...) concerns this entry only: it is passed over, so one bad entry never stalls the list.
STOP_CODES = ("slot_full", "slot_closed", "registration_closed")


# ---------------------------------------------------------------- joining and leaving


def _slot_with_event(
    slot_id: int, *, lock: bool = False, share: bool = False
) -> tuple[GameSlot, EventGame, Event]:
    """``lock``: FOR UPDATE; ``share``: FOR SHARE (waits for, and holds off, a seat change)."""
    stmt = select(GameSlot).where(GameSlot.id == slot_id)
    if lock or share:
        stmt = stmt.with_for_update(read=share and not lock).execution_options(
            populate_existing=True
        )
    slot = db.session.scalar(stmt)
    if slot is None:
        raise NotFound("Slot")
    event_game = db.session.get(EventGame, slot.event_game_id)
    return slot, event_game, db.session.get(Event, event_game.event_id)


def _check_open(event: Event, slot: GameSlot) -> None:
    ensure_registration_open(event, utcnow())
    if not slot.is_open:
        raise AppError(
            "registration_closed", "This slot is closed for booking", 422, {"slot_id": slot.id}
        )


def join(user_id: int, slot_id: int, child_id: int) -> WaitingListEntry:
    child = db.session.get(Child, child_id)
    if child is None or child.user_id != user_id or child.deleted_at is not None:
        raise NotFound("Child")
    # Shared lock: a seat freed meanwhile either commits first (this sees it: slot_not_full)
    # or waits for this entry, so the offer round its release queues finds the entry. Read
    # without it, both could miss each other and strand the seat behind the queue.
    slot, event_game, event = _slot_with_event(slot_id, share=locking.guards.waitlist_join_lock)
    locking.pause("join_read")
    _check_open(event, slot)
    check_eligible(child, event_game, event)
    already = db.session.scalar(
        select(BookingItem.id).where(
            BookingItem.child_id == child_id,
            BookingItem.slot_id == slot_id,
            BookingItem.is_live.is_(True),
        )
    )
    if already is not None:
        raise Conflict("already_booked", "This child already has a seat in this slot")
    if slot.booked_count < slot.capacity and not _has_queue(slot_id):
        # (With a queue, free seats are the queue's until offered: booking is refused, joining
        # is the way in.)
        raise Conflict(
            "slot_not_full",
            "This slot still has seats; book it directly",
            {"slot_id": slot.id, "seats_left": slot.capacity - slot.booked_count},
        )
    entry = WaitingListEntry(
        slot_id=slot_id, child_id=child_id, user_id=user_id, status=WaitlistStatus.WAITING
    )
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:
        # The partial unique index: this child is already queued (or offered) for this slot.
        raise Conflict(
            "already_waitlisted", "This child is already on the waiting list for this slot"
        ) from None
    return entry


def _has_queue(slot_id: int) -> bool:
    return bool(db.session.scalar(select(queued_for(slot_id))))


def leave(user_id: int, entry_id: int, *, actor_id: int | None = None) -> WaitingListEntry:
    # An offer paid (or lapsed) since it was last settled is booked (expired), not left: without
    # this, leaving a paid offer marked the entry cancelled beside its confirmed booking.
    reconcile(select(WaitingListEntry.id).where(WaitingListEntry.id == entry_id))
    entry = db.session.scalar(
        select(WaitingListEntry)
        .where(WaitingListEntry.id == entry_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if entry is None or entry.user_id != user_id:
        raise NotFound("Waiting list entry")
    if entry.status == WaitlistStatus.CANCELLED:
        return entry
    if entry.status not in ACTIVE:
        raise Conflict(
            "waitlist_entry_closed",
            f"This entry is already {entry.status}",
            {"status": entry.status},
        )
    if entry.status == WaitlistStatus.OFFERED and entry.offered_booking_id is not None:
        held = db.session.get(Booking, entry.offered_booking_id)
        if held is not None and held.status == BookingStatus.PENDING_PAYMENT:
            # Giving up the offer gives up its seat: the next entry gets it.

            cancel_booking(held.id, actor_id=actor_id or user_id, reason="left the waiting list")
    entry.status = WaitlistStatus.CANCELLED
    db.session.flush()
    return entry


def positions(entries: list[WaitingListEntry]) -> dict[int, int]:
    """1-based rank of each waiting entry among its slot's waiting entries (created_at, id).

    One query for any number of entries (a parent's list spans several slots).
    """
    waiting = {e.id: e.slot_id for e in entries if e.status == WaitlistStatus.WAITING}
    if not waiting:
        return {}
    entry = WaitingListEntry
    ranked = (
        select(
            entry.id,
            func.row_number()
            .over(partition_by=entry.slot_id, order_by=(entry.created_at, entry.id))
            .label("position"),
        )
        .where(entry.slot_id.in_(set(waiting.values())), entry.status == WaitlistStatus.WAITING)
        .subquery()
    )
    rows = db.session.execute(
        select(ranked.c.id, ranked.c.position).where(ranked.c.id.in_(list(waiting)))
    )
    return {row.id: row.position for row in rows}


def skip_reasons(entries: list[WaitingListEntry]) -> dict[int, str]:
    """Why the offer round passed over cancelled entries (kept in the audit log)."""
    ids = [str(e.id) for e in entries if e.status == WaitlistStatus.CANCELLED]
    if not ids:
        return {}
    rows = db.session.execute(
        select(AuditLog.entity_id, AuditLog.after).where(
            AuditLog.action == "waitlist.skipped",
            AuditLog.entity_type == WaitingListEntry.__tablename__,
            AuditLog.entity_id.in_(ids),
        )
    )
    return {int(entity_id): (after or {}).get("reason") for entity_id, after in rows}


def entries_for_user(user_id: int, status: str | None = None):
    """The user's entries, newest first (a statement, for the page envelope).

    Offers are settled first (paid → booked, lapsed → expired) so the parent sees the truth.
    """
    reconcile(select(WaitingListEntry.id).where(WaitingListEntry.user_id == user_id))
    stmt = select(WaitingListEntry).where(WaitingListEntry.user_id == user_id)
    if status:
        stmt = stmt.where(WaitingListEntry.status == status)
    return stmt.order_by(WaitingListEntry.created_at.desc(), WaitingListEntry.id.desc())


def entry_for_user(user_id: int, entry_id: int) -> WaitingListEntry:
    reconcile(select(WaitingListEntry.id).where(WaitingListEntry.id == entry_id))
    entry = db.session.get(WaitingListEntry, entry_id)
    if entry is None or entry.user_id != user_id:
        raise NotFound("Waiting list entry")
    return entry


def reconcile(entry_ids_stmt) -> set[int]:
    """Bring offered entries in line with their held booking; returns slots that freed a seat.

    Paid → booked. Hold expired or cancelled → expired (the offer passed). The booking engine
    does not know about the list, so this runs before every offer round and in the periodic job.
    """
    rows = db.session.execute(
        select(WaitingListEntry, Booking.status)
        .join(Booking, Booking.id == WaitingListEntry.offered_booking_id)
        .where(WaitingListEntry.id.in_(entry_ids_stmt),
               WaitingListEntry.status == WaitlistStatus.OFFERED)
        .with_for_update(of=WaitingListEntry, skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    freed: set[int] = set()
    for entry, status in rows:
        if status in CONFIRMED_BOOKING_STATUSES:
            entry.status = WaitlistStatus.BOOKED
        elif status in (BookingStatus.EXPIRED, BookingStatus.CANCELLED):
            entry.status = WaitlistStatus.EXPIRED
            freed.add(entry.slot_id)
    if rows:
        db.session.flush()
    return freed


def describe_entries(entries: list[WaitingListEntry]) -> list[dict]:
    """The contract's waiting-list entry objects (child, slot, event, offer, position)."""
    ranks = positions(entries)
    reasons = skip_reasons(entries)
    out = []
    for entry in entries:
        child = db.session.get(Child, entry.child_id)
        slot = db.session.get(GameSlot, entry.slot_id)
        event_game = db.session.get(EventGame, slot.event_game_id)
        event = db.session.get(Event, event_game.event_id)
        booking = (
            db.session.get(Booking, entry.offered_booking_id) if entry.offered_booking_id else None
        )
        out.append(
            {
                "id": entry.id,
                "status": entry.status,
                "position": ranks.get(entry.id),
                "child": {"id": child.id, "full_name": child.full_name},
                "slot": {
                    "id": slot.id,
                    "game_name": event_game.template.name,
                    "start_time": slot.start_time.strftime("%H:%M"),
                    "end_time": slot.end_time.strftime("%H:%M"),
                },
                "event": {
                    "id": event.id,
                    "title": event.title,
                    "event_date": event.event_date.isoformat(),
                },
                "offered_booking": (
                    {
                        "id": booking.id,
                        "booking_number": booking.booking_number,
                        "status": booking.status,
                        "total": booking.total,
                        "hold_expires_at": isoformat_ist(booking.hold_expires_at),
                    }
                    if booking
                    else None
                ),
                "offered_at": isoformat_ist(entry.offered_at),
                "offer_expires_at": isoformat_ist(entry.offer_expires_at),
                "created_at": isoformat_ist(entry.created_at),
                "closed_reason": reasons.get(entry.id),
            }
        )
    return out


# ---------------------------------------------------------------- offers

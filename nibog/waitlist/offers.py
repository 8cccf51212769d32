"""Waiting-list offers: a freed seat is held for the next child in the queue.

``offer_seats`` walks a slot's queue in order and, while seats are free, holds a seat for the next
child through the normal booking engine; the parent has ``WAITLIST_OFFER_SECONDS`` to pay, and
an unpaid offer expires with its hold, which passes the seat on.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from nibog.accounts.models import Child, User
from nibog.booking.models import (
    CONFIRMED_BOOKING_STATUSES,
    Booking,
    WaitingListEntry,
    WaitlistStatus,
)
from nibog.booking.service import create_booking, expire_holds
from nibog.catalog.models import Event, EventGame, EventStatus, GameSlot
from nibog.core import locking
from nibog.core.audit import record
from nibog.core.errors import AppError
from nibog.core.timeutil import as_utc, isoformat_ist, today_ist, utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import queue_email, queue_sms
from nibog.waitlist.entries import STOP_CODES, queued_for, reconcile

log = logging.getLogger(__name__)


def offer_seats(slot_id: int) -> int:
    """Offer the slot's free seats to the first waiting entries. Returns the offers made.

    The slot row is locked for the whole round, so two rounds for the same slot (a cancel and
    the periodic job, say) run one after the other instead of offering one seat twice; entries
    a parent is leaving at that moment are skipped (SKIP LOCKED), not waited for.
    """
    reconcile(select(WaitingListEntry.id).where(WaitingListEntry.slot_id == slot_id))
    slot = db.session.scalar(
        locking.for_update(select(GameSlot).where(GameSlot.id == slot_id), "offer_round_lock")
        .execution_options(populate_existing=True)
    )
    if slot is None:
        return 0
    event_id = db.session.scalar(
        select(EventGame.event_id).where(EventGame.id == slot.event_game_id)
    )
    offers = 0
    while slot.booked_count < slot.capacity:
        entry = db.session.scalar(
            select(WaitingListEntry)
            .where(WaitingListEntry.slot_id == slot_id,
                   WaitingListEntry.status == WaitlistStatus.WAITING)
            .order_by(WaitingListEntry.created_at, WaitingListEntry.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if entry is None:
            break
        locking.pause("offer_picked")

        try:
            with db.session.begin_nested():
                booking = create_booking(
                    user_id=entry.user_id,
                    event_id=event_id,
                    items=[{"child_id": entry.child_id, "slot_id": slot_id}],
                    addons=[],
                    promo_code=None,
                    source="waitlist",
                )
        except AppError as exc:
            if exc.code in STOP_CODES:
                log.info("waitlist offers for slot %s stopped: %s", slot_id, exc.code)
                break
            _skip(entry, exc)
            continue
        mark_offered(entry, booking)
        offers += 1
        db.session.refresh(slot)
    return offers


def _skip(entry: WaitingListEntry, exc: AppError) -> None:
    entry.status = WaitlistStatus.CANCELLED
    # No reason column on the entry: the audit log keeps why it was passed over.
    record(
        "waitlist.skipped",
        entry,
        actor_id=None,
        after={"status": "cancelled", "reason": exc.code, "message": exc.message},
    )
    db.session.flush()


def mark_offered(entry: WaitingListEntry, booking: Booking) -> None:
    now = utcnow()
    entry.offered_booking_id = booking.id
    entry.offered_at = now
    if booking.status in CONFIRMED_BOOKING_STATUSES:
        # A free game confirms at once: nothing left to claim.
        entry.status = WaitlistStatus.BOOKED
    else:
        entry.status = WaitlistStatus.OFFERED
        # A parent needs longer than a checkout hold to notice the offer, so the hold is
        # stretched to the offer window; the hold expiry job then passes it on when unpaid.
        window = now + timedelta(seconds=current_app.config["WAITLIST_OFFER_SECONDS"])
        hold = as_utc(booking.hold_expires_at)
        entry.offer_expires_at = max(window, hold) if hold else window
        booking.hold_expires_at = entry.offer_expires_at
    db.session.flush()
    _notify(entry, booking)


def _notify(entry: WaitingListEntry, booking: Booking) -> None:
    # If the engine queued its generic "complete your payment" mail for the hold, the offer
    # mail supersedes it: it is marked suppressed (its job then skips it), one message per offer.
    db.session.execute(
        update(NotificationLog)
        .where(
            NotificationLog.booking_id == booking.id,
            NotificationLog.template == "booking_held",
            NotificationLog.status == "queued",
        )
        .values(status="suppressed", error="superseded by waitlist_offer")
        .execution_options(synchronize_session=False)
    )
    user = db.session.get(User, entry.user_id)
    child = db.session.get(Child, entry.child_id)
    context = booking.message_context(
        child_name=child.full_name if child else "",
        slot_id=entry.slot_id,
        # ISO: the message shows it in the parent's language (notifications.templates).
        offer_expires_at=isoformat_ist(entry.offer_expires_at),
        entry_id=entry.id,
    )
    if user is None:
        return
    if user.email:
        queue_email("waitlist_offer", user.email, context, user_id=user.id, booking_id=booking.id)
    elif user.phone:
        queue_sms("waitlist_offer", user.phone, context, user_id=user.id, booking_id=booking.id)


def expire_offers() -> set[int]:
    """Periodic: settle offers whose hold ended; returns slots to offer again.

    Overdue holds are expired first (the booking engine's own function, idempotent), so an
    offer passes on at its deadline even when this job runs before the hold expiry job.
    """
    overdue = db.session.scalar(
        select(func.count())
        .select_from(WaitingListEntry)
        .where(WaitingListEntry.status == WaitlistStatus.OFFERED,
               WaitingListEntry.offer_expires_at <= utcnow())
    )
    if overdue:
        expire_holds()
    close_stale_entries()
    offered = WaitingListEntry.status == WaitlistStatus.OFFERED
    return reconcile(select(WaitingListEntry.id).where(offered))


def stranded_slots() -> set[int]:
    """Open slots with free seats and children waiting, whatever left them so (a lost offer
    job, a seat freed while the slot was closed): the periodic job offers them again."""
    free_with_queue = (
        select(GameSlot.id)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(Event, Event.id == EventGame.event_id)
        .where(
            GameSlot.is_open.is_(True),
            GameSlot.booked_count < GameSlot.capacity,
            Event.status == EventStatus.PUBLISHED,
            queued_for(GameSlot.id),
        )
    )
    return set(db.session.scalars(free_with_queue))


def close_stale_entries() -> int:
    """Waiting entries for an event that is over, cancelled or closed can never be offered."""
    now = utcnow()
    stale_slots = (
        select(GameSlot.id)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(Event, Event.id == EventGame.event_id)
        .where(
            or_(
                Event.status.in_((EventStatus.CANCELLED, EventStatus.COMPLETED)),
                Event.event_date < today_ist(),
                Event.registration_closes_at < now,
            )
        )
    )
    result = db.session.execute(
        update(WaitingListEntry)
        .where(WaitingListEntry.status == WaitlistStatus.WAITING,
               WaitingListEntry.slot_id.in_(stale_slots))
        .values(status=WaitlistStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0

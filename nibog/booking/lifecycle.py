"""Every status change of a booking, one function each: confirm, cancel, expire, complete.

Each locks the booking row first, then (through ``holds``) the slot, promo and variant rows in
the global lock order, so it can run from a request, a webhook or a job at the same time as any
other without double-counting a seat.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update

from nibog.accounts.models import User
from nibog.booking import holds, promos
from nibog.booking.access import lock_booking
from nibog.booking.counts import seats_changed
from nibog.booking.eligibility import ensure_registration_open, event_start_utc
from nibog.booking.models import (
    CONFIRMED_BOOKING_STATUSES,
    OPEN_BOOKING_STATUSES,
    Booking,
    BookingAddon,
    BookingItem,
    BookingStatus,
)
from nibog.catalog.models import Event, EventStatus
from nibog.core import locking, metrics, signals
from nibog.core.errors import AppError, Conflict
from nibog.core.timeutil import isoformat_ist, utcnow
from nibog.extensions import db
from nibog.notifications.service import queue_email, queue_whatsapp_update
from nibog.payments.refunds import at_most_refundable
from nibog.payments.service import refund_booking_payments

log = logging.getLogger(__name__)

EXPIRY_BATCH = 200


class SeatsNoLongerAvailable(AppError):
    """A late payment for a booking whose seats went to someone else; nothing was changed."""

    def __init__(self, message: str = "The seats of this booking are no longer available",
                 details: dict | None = None):
        super().__init__("seats_unavailable", message, 409, details)


def _recipient(booking: Booking) -> tuple[str | None, int | None]:
    if booking.user_id is not None:
        user = db.session.get(User, booking.user_id)
        if user is not None and user.email:
            return user.email, user.id
        return None, booking.user_id
    return booking.guest_email, None


def notify_status(
    booking: Booking, *, recipient: tuple[str | None, int | None] | None = None, **extra
) -> None:
    """Queue the e-mail for the booking's current status; it leaves after the commit.

    ``recipient``: (address, user id) of the booking's user, when the caller has just read them.
    """
    template = {
        "pending_payment": "booking_held",
        "confirmed": "booking_confirmed",
        "cancelled": "booking_cancelled",
    }.get(booking.status)
    to, user_id = recipient if recipient is not None else _recipient(booking)
    if template is None or not to:
        return

    context = booking.message_context(
        hold_expires_at=isoformat_ist(booking.hold_expires_at), **extra)
    queue_email(template, to, context, user_id=user_id, booking_id=booking.id)
    if template == "booking_confirmed" and current_app.config.get("WHATSAPP_NOTIFY"):
        owner = db.session.get(User, booking.user_id) if booking.user_id else None
        phone = (owner.phone if owner is not None else None) or booking.guest_phone
        queue_whatsapp_update(template, phone, context, user_id=user_id, booking_id=booking.id)


def _mark_confirmed(booking: Booking) -> None:
    booking.status = BookingStatus.CONFIRMED
    booking.confirmed_at = utcnow()
    booking.hold_expires_at = None
    db.session.flush()
    metrics.booking_changed("confirmed")
    notify_status(booking)


def on_payment_captured(booking_id: int, *, source: str) -> None:
    """Receiver of ``signals.payment_captured``: the paid booking is confirmed (or refused)."""
    confirm_booking(booking_id, source=source)


def confirm_booking(booking_id: int, *, source: str) -> Booking:
    """Paid (or otherwise settled): pending_payment -> confirmed. Safe to call twice.

    Refused (SeatsNoLongerAvailable, nothing changes, the caller refunds) when the event no
    longer takes place; an expired hold is revived only if the event still takes bookings and its
    seats, promo use and stock can all be taken again.
    """
    booking = lock_booking(booking_id)
    if booking.status in CONFIRMED_BOOKING_STATUSES:
        return booking
    if booking.status == BookingStatus.CANCELLED:
        raise SeatsNoLongerAvailable("This booking was cancelled", {"status": "cancelled"})
    revive = booking.status == BookingStatus.EXPIRED
    try:
        # Never into an event that no longer takes place (cancelled, unpublished, over) - a
        # booking can miss the cancellation's sweep by committing just after it. Reviving an
        # expired hold is booking again, so a payment must also come within the registration
        # window; a live hold was taken inside it, and the admin at the desk may confirm after.
        event = _registration_window(booking.event_id)
        ensure_registration_open(event, utcnow(), walk_in=source == "admin" or not revive)
        if revive:
            with db.session.begin_nested():
                _retake(booking)
    except AppError as exc:
        raise SeatsNoLongerAvailable(details={"reason": exc.code, **exc.details}) from exc
    if revive:
        seats_changed.delay(booking.event_id)
    log.info("booking %s confirmed via %s", booking.booking_number, source)
    _mark_confirmed(booking)
    return booking


# What ensure_registration_open reads of an event: a row of these, not the whole Event object
# (a confirmation reads nothing else of it).
_WINDOW = (Event.status, Event.event_date, Event.start_time, Event.end_time,
           Event.registration_opens_at, Event.registration_closes_at)
_WINDOW_READ = (select(*_WINDOW).where(Event.id == bindparam("event_id"))
                .execution_options(prepare=True))  # every confirmation (core/prepared.py)


def _registration_window(event_id: int):
    return db.session.execute(_WINDOW_READ, {"event_id": event_id}).one()


def _retake(booking: Booking) -> None:
    items = list(db.session.scalars(select(BookingItem).where(BookingItem.booking_id == booking.id)))
    seats = Counter(i.slot_id for i in items)
    slots = holds.lock_slots(seats)
    holds.ensure_not_booked([(i.child_id, i.slot_id) for i in items], exclude_booking_id=booking.id)
    holds.claim_seats(slots, seats)
    if booking.promo_code_id is not None:
        # The use was given back when the hold expired: taken again under the same limits,
        # per parent too (else paying late for an expired hold after booking again with the
        # code would hold two uses of a once-per-parent code).
        promos.take_use(booking.promo_code_id, user_id=booking.user_id,
                        guest_email=None if booking.user_id else booking.guest_email)
    stock = _stock_of([booking.id])
    if stock:
        holds.take_stock(stock)
    for item in items:
        item.is_live = True
    db.session.flush()


def _stock_of(booking_ids: list[int]) -> Counter:
    stock: Counter = Counter()
    for variant_id, quantity in db.session.execute(
        select(BookingAddon.variant_id, BookingAddon.quantity).where(
            BookingAddon.booking_id.in_(booking_ids), BookingAddon.variant_id.is_not(None)
        )
    ):
        stock[variant_id] += quantity
    return stock


def _release(bookings: list[Booking]) -> list[int]:
    """Give back the seats, promo uses and stock of live bookings, in the global lock order."""
    ids = [b.id for b in bookings]
    if not ids:
        return []
    items = list(
        db.session.scalars(
            select(BookingItem).where(BookingItem.booking_id.in_(ids), BookingItem.is_live)
        )
    )
    freed = holds.give_back_seats(Counter(i.slot_id for i in items))
    for item in items:
        item.is_live = False
    for promo_id in sorted({b.promo_code_id for b in bookings if b.promo_code_id}):
        promos.give_back_uses(promo_id, sum(1 for b in bookings if b.promo_code_id == promo_id))
    stock = _stock_of(ids)
    if stock:
        holds.give_back_stock(stock)
    db.session.flush()
    return freed


def _after_seats_freed(event_id: int, slot_ids: list[int]) -> None:
    seats_changed.delay(event_id)
    event = db.session.get(Event, event_id)
    if event is not None and event.status == EventStatus.PUBLISHED:
        signals.announce_seats_freed(slot_ids)


def refund_amount_for(booking: Booking, event: Event, *, now: datetime, by_admin: bool) -> int:
    """Full refund of a paid booking until REFUND_FULL_BEFORE_HOURS before the start, then none."""
    if booking.status not in CONFIRMED_BOOKING_STATUSES or booking.total <= 0:
        return 0
    if by_admin:
        return booking.total
    hours = current_app.config["REFUND_FULL_BEFORE_HOURS"]
    return booking.total if now <= event_start_utc(event) - timedelta(hours=hours) else 0


def _cancel_refusal(booking: Booking, event: Event, now: datetime, *, by_admin: bool
                    ) -> Conflict | None:
    if booking.status not in OPEN_BOOKING_STATUSES:
        return Conflict(
            "booking_not_cancellable",
            f"A booking that is {booking.status.replace('_', ' ')} cannot be cancelled",
            {"status": booking.status},
        )
    if not by_admin and now >= event_start_utc(event):
        # Attendance, results and certificates hang off the items from now on.
        return Conflict(
            "booking_not_cancellable", "The event has already started", {"status": booking.status}
        )
    return None


@dataclass(frozen=True)
class CancellationTerms:
    """What cancelling a booking now would do, for a parent to see before confirming."""

    cancellable: bool
    refusal: Conflict | None
    refund: int  # paise given back: to the payment's source (online) or at the desk (cash)
    method: str | None  # "original_payment", "cash" or None when nothing is refunded
    paid: bool
    full_refund_until: datetime | None  # UTC; the policy's deadline for a full refund


def cancellation_terms(booking: Booking, *, now: datetime | None = None) -> CancellationTerms:
    """The refund ``cancel_booking`` would give a parent now, by the same rules (no lock: a
    preview; the cancel itself decides again under the booking lock)."""
    now = now or utcnow()
    event = db.session.get(Event, booking.event_id)
    refusal = _cancel_refusal(booking, event, now, by_admin=False)
    refund = 0 if refusal else at_most_refundable(
        booking, refund_amount_for(booking, event, now=now, by_admin=False))
    hours = current_app.config["REFUND_FULL_BEFORE_HOURS"]
    paid = booking.confirmed_at is not None and booking.total > 0
    return CancellationTerms(
        cancellable=refusal is None,
        refusal=refusal,
        refund=refund,
        method=("cash" if booking.payment_mode == "cash" else "original_payment") if refund else None,
        paid=paid,
        full_refund_until=event_start_utc(event) - timedelta(hours=hours) if paid else None,
    )


def cancellation_preview(booking: Booking, *, now: datetime | None = None) -> dict:
    """``cancellation_terms`` as a dict: ``{"cancellable", "refund", "reason"}``; ``reason``
    says why not (``status`` or ``started``); ``refund`` in paise, 0 for an unpaid hold."""
    terms = cancellation_terms(booking, now=now)
    reason = None
    if not terms.cancellable:
        reason = "started" if booking.status in OPEN_BOOKING_STATUSES else "status"
    return {"cancellable": terms.cancellable, "refund": terms.refund, "reason": reason}


def cancel_booking(
    booking_id: int, *, actor_id: int | None, reason: str | None = None, by_admin: bool = False,
    refund: int | None = None,
) -> tuple[Booking, int]:
    """Cancel a held or confirmed booking: free everything, refund what the policy allows.

    ``refund``: the amount staff decided instead of the policy's (an override), kept between
    nothing and what the booking cost; an unpaid booking refunds nothing whatever is asked.
    """
    booking = lock_booking(booking_id)
    event = db.session.get(Event, booking.event_id)
    now = utcnow()
    refusal = _cancel_refusal(booking, event, now, by_admin=by_admin)
    if refusal is not None:
        raise refusal
    if refund is None:
        refund = refund_amount_for(booking, event, now=now, by_admin=by_admin)
    elif booking.status not in CONFIRMED_BOOKING_STATUSES:
        refund = 0
    else:
        refund = max(0, min(refund, booking.total))
    freed = _release([booking])
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = now
    booking.hold_expires_at = None
    booking.cancel_reason = (reason or "").strip()[:1000] or None
    db.session.flush()
    metrics.booking_changed("cancelled")
    if refund > 0 and booking.payment_mode == "online":
        # What the payments can still give back: staff may have refunded some already.
        refund = _request_refund(
            booking.id, refund, reason=reason or "Booking cancelled", actor_id=actor_id
        )
    notify_status(booking, refund_amount=refund)
    _after_seats_freed(booking.event_id, freed)
    return booking, refund


def _request_refund(booking_id: int, amount: int, *, reason: str, actor_id: int | None) -> int:
    """Refund up to ``amount``; returns what was actually asked of the gateway."""
    refunds = refund_booking_payments(booking_id, amount, reason=reason, actor_id=actor_id)
    return sum(r.amount for r in refunds)


def expire_holds(now: datetime | None = None) -> int:
    """Periodic: unpaid holds past their deadline turn expired and free their seats.

    SKIP LOCKED leaves bookings being paid right now to the payment path; the caller commits and
    calls again while a full batch came back.
    """
    now = now or utcnow()
    due = (
        select(Booking)
        .where(Booking.status == BookingStatus.PENDING_PAYMENT, Booking.hold_expires_at <= now)
        .order_by(Booking.hold_expires_at, Booking.id)
        .limit(EXPIRY_BATCH)
        .execution_options(populate_existing=True)
    )
    bookings = list(db.session.scalars(locking.for_update(due, "booking_lock", skip_locked=True)))
    locking.pause("holds_read")
    if not bookings:
        return 0
    # One release for the whole batch keeps the slot locks in id order across bookings.
    _release(bookings)
    for booking in bookings:
        booking.status = BookingStatus.EXPIRED
        booking.expired_at = now
    db.session.flush()
    metrics.booking_changed("expired", len(bookings))
    _after_bookings_freed(bookings)
    return len(bookings)


def _after_bookings_freed(bookings: list[Booking]) -> None:
    """``_after_seats_freed`` for every event of a batch, with the slots of its bookings."""
    by_event: dict[int, set[int]] = {}
    event_of = {b.id: b.event_id for b in bookings}
    for booking_id, slot_id in db.session.execute(
        select(BookingItem.booking_id, BookingItem.slot_id).where(
            BookingItem.booking_id.in_(list(event_of))
        )
    ):
        by_event.setdefault(event_of[booking_id], set()).add(slot_id)
    for event_id, slot_ids in by_event.items():
        _after_seats_freed(event_id, sorted(slot_ids))


def release_unpaid_holds_for_user(user_id: int) -> int:
    """Account deletion: the user's unpaid holds are cancelled and their seats freed."""
    bookings = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.user_id == user_id, Booking.status == BookingStatus.PENDING_PAYMENT)
            .order_by(Booking.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    if not bookings:
        return 0
    _release(bookings)
    now = utcnow()
    for booking in bookings:
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        booking.hold_expires_at = None
        booking.cancel_reason = "Account deleted"
    db.session.flush()
    metrics.booking_changed("cancelled", len(bookings))
    _after_bookings_freed(bookings)
    return len(bookings)


def complete_event(event_id: int) -> int:
    """The event took place: its confirmed bookings become completed (they keep their seats)."""
    result = db.session.execute(
        update(Booking)
        .where(Booking.event_id == event_id, Booking.status == BookingStatus.CONFIRMED)
        .values(status=BookingStatus.COMPLETED, completed_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    db.session.flush()
    return result.rowcount or 0

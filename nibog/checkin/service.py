"""Check-in at the venue: by the ticket's signed QR payload or by booking number.

The QR signature is checked offline (``documents.qr.verify_ticket``), so a forged or altered
ticket is refused before any database lookup; the database is then only used to record the
scan. The booking row is locked while checking in, so two scanners scanning the same ticket at
the same moment give one check-in and one ``409 already_checked_in``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from nibog.booking.models import Booking, BookingItem
from nibog.catalog.models import Event
from nibog.core import locking
from nibog.core.errors import AppError, Conflict, NotFound, ValidationFailed
from nibog.core.timeutil import isoformat_ist, today_ist, utcnow
from nibog.documents.qr import InvalidTicket, verify_ticket
from nibog.extensions import db

CHECKABLE_STATUSES = ("confirmed", "completed")


@dataclass
class CheckInResult:
    booking: Booking
    checked_in_item_ids: list[int] = field(default_factory=list)
    already_checked_in_item_ids: list[int] = field(default_factory=list)


def _resolve(
    qr_payload: str | None, booking_number: str | None
) -> tuple[int | None, str | None, set[int] | None]:
    """Booking id or number, and the item ids the ticket admits (None: every live item)."""
    if qr_payload:
        try:
            data = verify_ticket(qr_payload)
        except InvalidTicket as exc:
            raise AppError("invalid_ticket", f"The ticket is not valid: {exc}", 422) from None
        try:
            return int(data["b"]), str(data["n"]), {int(i) for i in data["i"]}
        except (KeyError, TypeError, ValueError):
            raise AppError("invalid_ticket", "The ticket payload is incomplete", 422) from None
    if booking_number:
        return None, booking_number.strip().upper(), None
    raise ValidationFailed(
        {"qr_payload": ["Send qr_payload or booking_number"]}, "Nothing to check in"
    )


def check_in(
    *,
    actor_id: int | None,
    qr_payload: str | None = None,
    booking_number: str | None = None,
    item_id: int | None = None,
    force: bool = False,
) -> CheckInResult:
    booking_id, number, admitted = _resolve(qr_payload, booking_number)
    stmt = locking.for_update(select(Booking), "checkin_lock").execution_options(
        populate_existing=True
    )
    if booking_id is not None:
        stmt = stmt.where(Booking.id == booking_id, Booking.booking_number == number)
    else:
        # Stored upper-case (numbers.py); an exact match keeps the unique index usable.
        stmt = stmt.where(Booking.booking_number == number)
    booking = db.session.scalar(stmt)
    if booking is None:
        raise NotFound("Booking")
    if booking.status not in CHECKABLE_STATUSES:
        raise Conflict(
            "booking_not_confirmed",
            f"Booking {booking.booking_number} is {booking.status}; only confirmed bookings check in",
            {"status": booking.status},
        )
    event = db.session.get(Event, booking.event_id)
    if event.status == "cancelled":
        # Its bookings are being cancelled by a job; until then they still say confirmed.
        raise Conflict("event_cancelled", "This event was cancelled", {"event_id": event.id})
    if event.event_date != today_ist() and not force:
        raise AppError(
            "not_event_day",
            f"The event is on {event.event_date.isoformat()}, not today",
            422,
            {"event_date": event.event_date.isoformat(), "today": today_ist().isoformat()},
        )

    items = list(
        db.session.scalars(
            select(BookingItem)
            .where(BookingItem.booking_id == booking.id, BookingItem.is_live.is_(True))
            .order_by(BookingItem.id)
        )
    )
    if admitted is not None:
        items = [i for i in items if i.id in admitted]
    if item_id is not None:
        items = [i for i in items if i.id == item_id]
        if not items:
            raise NotFound("Ticket item")
    if not items:
        raise Conflict("nothing_to_check_in", "This ticket admits no live item")

    locking.pause("checkin_read")
    fresh = [i for i in items if i.checked_in_at is None]
    if not fresh:
        first = min(items, key=lambda i: i.checked_in_at)
        raise Conflict(
            "already_checked_in",
            "Already checked in",
            {
                "checked_in_at": isoformat_ist(first.checked_in_at),
                "item_ids": [i.id for i in items],
                "booking_number": booking.booking_number,
            },
        )
    now = utcnow()
    for item in fresh:
        item.checked_in_at = now
        item.checked_in_by_id = actor_id
        item.attendance = "attended"
    db.session.flush()
    return CheckInResult(
        booking=booking,
        checked_in_item_ids=[i.id for i in fresh],
        already_checked_in_item_ids=[i.id for i in items if i not in fresh],
    )


ATTENDANCE_VALUES = ("unknown", "attended", "no_show")


def set_item_result(
    booking_id: int,
    item_id: int,
    *,
    attendance: str | None = None,
    result_position: int | None = None,
    clear_position: bool = False,
) -> BookingItem:
    """Attendance and winner position of one item, as the certificates will show them."""
    item = db.session.scalar(
        select(BookingItem)
        .where(BookingItem.id == item_id, BookingItem.booking_id == booking_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if item is None:
        raise NotFound("Booking item")
    if not item.is_live:
        raise Conflict("item_not_live", "This item was cancelled or moved out")
    if attendance is not None:
        if attendance not in ATTENDANCE_VALUES:
            raise ValidationFailed({"attendance": [f"One of {', '.join(ATTENDANCE_VALUES)}"]})
        item.attendance = attendance
    if result_position is not None:
        item.result_position = result_position
        # A placed child was there, whatever the scanner said.
        item.attendance = "attended"
    elif clear_position:
        item.result_position = None
    if item.attendance == "no_show" and item.result_position is not None:
        raise ValidationFailed({"attendance": ["A child with a result cannot be a no-show"]})
    db.session.flush()
    return item

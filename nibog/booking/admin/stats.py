"""Dashboard figures: bookings, revenue, seats and fill rate.

Definitions (so the numbers add up for accounting):
- a *booking* counts once it is sold (``confirmed`` or ``completed``); holds, cancelled and
  expired bookings are reported separately and never in the totals;
- *revenue* is money actually kept: captured online payments minus refunds that are pending or
  processed (a failed refund returned nothing), plus the totals of live cash bookings taken by
  the admin; "today" is the calendar day in Asia/Kolkata;
- *seats* are over published and completed events: sold = live items of sold bookings, held =
  live items of unpaid holds, total = slot capacities; ``fill_rate`` is sold/total in percent.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, select

from nibog.booking.models import CONFIRMED_BOOKING_STATUSES, Booking, BookingItem
from nibog.catalog.models import Event, EventGame, EventStatus, GameSlot
from nibog.core.timeutil import IST, isoformat_ist, today_ist, utcnow
from nibog.extensions import db
from nibog.payments.models import Payment, Refund

SOLD = CONFIRMED_BOOKING_STATUSES
SEAT_EVENT_STATUSES = (EventStatus.PUBLISHED, EventStatus.COMPLETED)


def ist_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=IST)
    return start, start + timedelta(days=1)


def _scalar(stmt) -> int:
    return int(db.session.scalar(stmt) or 0)


def _revenue(since: datetime | None = None, until: datetime | None = None) -> int:
    captured = select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.captured_at.is_not(None)
    )
    refunded = select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.status != "failed")
    cash = select(func.coalesce(func.sum(Booking.total), 0)).where(
        Booking.payment_mode == "cash", Booking.status.in_(SOLD)
    )
    if since is not None:
        captured = captured.where(Payment.captured_at >= since, Payment.captured_at < until)
        refunded = refunded.where(Refund.created_at >= since, Refund.created_at < until)
        cash = cash.where(
            func.coalesce(Booking.confirmed_at, Booking.created_at) >= since,
            func.coalesce(Booking.confirmed_at, Booking.created_at) < until,
        )
    return _scalar(captured) - _scalar(refunded) + _scalar(cash)


def dashboard_stats(today: date | None = None) -> dict:
    today = today or today_ist()
    start, end = ist_day_bounds(today)

    by_status = dict(
        db.session.execute(select(Booking.status, func.count()).group_by(Booking.status)).all()
    )
    sold_today = _scalar(
        select(func.count())
        .select_from(Booking)
        .where(Booking.status.in_(SOLD), Booking.created_at >= start, Booking.created_at < end)
    )

    seat_events = select(Event.id).where(Event.status.in_(SEAT_EVENT_STATUSES))
    seats_total = _scalar(
        select(func.coalesce(func.sum(GameSlot.capacity), 0))
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .where(EventGame.event_id.in_(seat_events))
    )

    def live_items(statuses) -> int:
        return _scalar(
            select(func.count())
            .select_from(BookingItem)
            .join(Booking, Booking.id == BookingItem.booking_id)
            .where(
                BookingItem.is_live.is_(True),
                Booking.status.in_(statuses),
                Booking.event_id.in_(seat_events),
            )
        )

    seats_sold = live_items(SOLD)
    seats_held = live_items(("pending_payment",))
    upcoming = _scalar(
        select(func.count())
        .select_from(Event)
        .where(and_(Event.status == "published", Event.event_date >= today))
    )
    return {
        "bookings_today": sold_today,
        "bookings_total": sum(by_status.get(s, 0) for s in SOLD),
        "bookings_pending": by_status.get("pending_payment", 0),
        "bookings_cancelled": by_status.get("cancelled", 0),
        "bookings_expired": by_status.get("expired", 0),
        "revenue_today": _revenue(start, end),
        "revenue_total": _revenue(),
        "currency": "INR",
        "seats_sold": seats_sold,
        "seats_held": seats_held,
        "seats_total": seats_total,
        "fill_rate": round(100 * seats_sold / seats_total, 1) if seats_total else 0.0,
        "upcoming_events": upcoming,
        "as_of": isoformat_ist(utcnow()),
        "date": today.isoformat(),
    }

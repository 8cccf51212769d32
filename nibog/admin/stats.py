"""The figures behind the dashboard's overview page and its charts.

The definitions are ``nibog.booking.admin.stats``'s (sold = confirmed or completed; revenue = captured
online payments minus refunds that are not failed, plus live cash bookings), so the tiles, the
charts and the admin API agree: the per-day revenue of a period sums to that period's revenue,
and revenue by city or by event sums to the total.

Days are calendar days in Asia/Kolkata. Every figure is one grouped query (no per-row work in
Python), so the page stays fast with a large bookings table; the all-time figures, sums over
every booking, come from a snapshot (``nibog.admin.all_time``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, func, select

from nibog.accounts.models import User
from nibog.admin import all_time
from nibog.booking.admin.stats import SOLD, dashboard_stats, ist_day_bounds
from nibog.booking.models import Booking
from nibog.catalog.models import City, Event, EventGame, GameSlot
from nibog.core.timeutil import today_ist
from nibog.extensions import db
from nibog.payments.models import Payment, Refund

PERIODS = (7, 30, 90)


@dataclass(frozen=True)
class DayFigure:
    day: date
    bookings: int
    revenue: int


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def ist_date(column) -> ColumnElement:
    """The Asia/Kolkata calendar date of a UTC timestamp column, in SQL."""
    if _dialect() == "postgresql":
        return func.date(func.timezone("Asia/Kolkata", column))
    return func.date(column, "+5 hours", "+30 minutes")


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _cash_moment():
    return func.coalesce(Booking.confirmed_at, Booking.created_at)


def per_day(days: int, today: date | None = None) -> list[DayFigure]:
    """Sold bookings (by the day they were made) and revenue (by the day the money moved) for
    each of the last ``days`` days, today included; days without any are zeros."""
    today = today or today_ist()
    first = today - timedelta(days=days - 1)
    since, _ = ist_day_bounds(first)
    _, until = ist_day_bounds(today)

    def grouped(moment, value, *where) -> dict[date, int]:
        day = ist_date(moment).label("day")
        rows = db.session.execute(
            select(day, value).where(moment >= since, moment < until, *where).group_by(day)
        ).all()
        return {_as_date(d): int(v or 0) for d, v in rows}

    bookings = grouped(Booking.created_at, func.count(), Booking.status.in_(SOLD))
    captured = grouped(Payment.captured_at, func.sum(Payment.amount),
                       Payment.captured_at.is_not(None))
    refunded = grouped(Refund.created_at, func.sum(Refund.amount), Refund.status != "failed")
    cash = grouped(_cash_moment(), func.sum(Booking.total),
                   Booking.payment_mode == "cash", Booking.status.in_(SOLD))
    out = []
    for offset in range(days):
        d = first + timedelta(days=offset)
        revenue = captured.get(d, 0) - refunded.get(d, 0) + cash.get(d, 0)
        out.append(DayFigure(d, bookings.get(d, 0), revenue))
    return out


def upcoming_events(today: date | None = None, limit: int = 8) -> list[dict]:
    """The next published events with their seats taken (sold and held) against capacity."""
    today = today or today_ist()
    seats = (
        select(
            EventGame.event_id.label("event_id"),
            func.sum(GameSlot.capacity).label("capacity"),
            func.sum(GameSlot.booked_count).label("taken"),
        )
        .join(GameSlot, GameSlot.event_game_id == EventGame.id)
        .group_by(EventGame.event_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Event.id, Event.title, Event.event_date, City.name,
               func.coalesce(seats.c.taken, 0), func.coalesce(seats.c.capacity, 0))
        .join(City, City.id == Event.city_id)
        .outerjoin(seats, seats.c.event_id == Event.id)
        .where(Event.status == "published", Event.event_date >= today)
        .order_by(Event.event_date, Event.id)
        .limit(limit)
    ).all()
    return [
        {"id": r[0], "title": r[1], "event_date": r[2], "city": r[3],
         "taken": int(r[4]), "capacity": int(r[5])}
        for r in rows
    ]


def recent_bookings(limit: int = 10) -> list[dict]:
    rows = db.session.execute(
        select(Booking.id, Booking.booking_number, Booking.status, Booking.total,
               Booking.created_at, Event.title,
               func.coalesce(User.full_name, Booking.guest_name, Booking.guest_email))
        .join(Event, Event.id == Booking.event_id)
        .outerjoin(User, User.id == Booking.user_id)
        .order_by(Booking.id.desc())
        .limit(limit)
    ).all()
    return [
        {"id": r[0], "booking_number": r[1], "status": r[2], "total": r[3], "created_at": r[4],
         "event": r[5], "who": r[6] or ""}
        for r in rows
    ]


def overview(days: int = 30, today: date | None = None) -> dict:
    """Everything the overview page shows except failed jobs (read from the queue)."""
    today = today or today_ist()
    days = days if days in PERIODS else 30
    figures = per_day(days, today)
    return {
        "totals": dashboard_stats(today),
        "days": days,
        "per_day": figures,
        "period_bookings": sum(f.bookings for f in figures),
        "period_revenue": sum(f.revenue for f in figures),
        **all_time.figures(),
        "upcoming": upcoming_events(today),
        "recent": recent_bookings(),
    }

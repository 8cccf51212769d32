"""The figures behind the dashboard's overview page and its charts.

The definitions are ``nibog.booking.stats``'s (sold = confirmed or completed; revenue = captured
online payments minus refunds that are not failed, plus live cash bookings), so the tiles, the
charts and the admin API agree: the per-day revenue of a period sums to that period's revenue,
and revenue by city or by event sums to the total.

Days are calendar days in Asia/Kolkata. Every figure is one grouped query (no per-row work in
Python), so the page stays fast with a large bookings table.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, case, func, literal, select

from nibog.accounts.models import Child, User
from nibog.booking.models import Booking, BookingItem
from nibog.booking.stats import SOLD, dashboard_stats, ist_day_bounds
from nibog.catalog.models import City, Event, EventGame, GameSlot, GameTemplate
from nibog.core.cache import cached_json
from nibog.core.timeutil import today_ist
from nibog.extensions import db
from nibog.payments.models import Payment, Refund

PERIODS = (7, 30, 90)
# Children's age at the event, in whole years; the last group is "this many and older".
AGE_GROUPS = 6


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


def revenue_by_event() -> dict[int, int]:
    """All-time revenue per event id (events with none are left out)."""
    captured = db.session.execute(
        select(Booking.event_id, func.sum(Payment.amount))
        .join(Booking, Booking.id == Payment.booking_id)
        .where(Payment.captured_at.is_not(None))
        .group_by(Booking.event_id)
    ).all()
    refunded = db.session.execute(
        select(Booking.event_id, func.sum(Refund.amount))
        .join(Payment, Payment.id == Refund.payment_id)
        .join(Booking, Booking.id == Payment.booking_id)
        .where(Refund.status != "failed")
        .group_by(Booking.event_id)
    ).all()
    cash = db.session.execute(
        select(Booking.event_id, func.sum(Booking.total))
        .where(Booking.payment_mode == "cash", Booking.status.in_(SOLD))
        .group_by(Booking.event_id)
    ).all()
    totals: dict[int, int] = defaultdict(int)
    for rows, sign in ((captured, 1), (refunded, -1), (cash, 1)):
        for event_id, amount in rows:
            totals[event_id] += sign * int(amount or 0)
    return {event_id: amount for event_id, amount in totals.items() if amount}


def _event_names(event_ids) -> dict[int, tuple[str, date, str]]:
    rows = db.session.execute(
        select(Event.id, Event.title, Event.event_date, City.name)
        .join(City, City.id == Event.city_id)
        .where(Event.id.in_(list(event_ids)))
    ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def revenue_split(top: int = 10) -> tuple[list[tuple[str, int]], list[dict]]:
    """(by city, by event): all-time revenue, largest first. By event: ``top`` rows
    {event_id, title, event_date, amount}, then one row with ``event_id`` None summing the rest,
    so the column still adds up to the total."""
    per_event = revenue_by_event()
    names = _event_names(per_event)
    by_city: dict[str, int] = defaultdict(int)
    for event_id, amount in per_event.items():
        by_city[names[event_id][2]] += amount
    ranked = sorted(per_event.items(), key=lambda kv: (-kv[1], kv[0]))
    by_event = [
        {"event_id": e, "title": names[e][0], "event_date": names[e][1], "amount": amount}
        for e, amount in ranked[:top]
    ]
    rest = sum(amount for _, amount in ranked[top:])
    if rest:
        by_event.append({"event_id": None, "title": None, "event_date": None, "amount": rest})
    return sorted(by_city.items(), key=lambda kv: (-kv[1], kv[0])), by_event


def _sold_items():
    return (
        select(BookingItem)
        .join(Booking, Booking.id == BookingItem.booking_id)
        .where(BookingItem.is_live.is_(True), Booking.status.in_(SOLD))
    )


def game_popularity(top: int = 10) -> list[tuple[str, int]]:
    """Seats sold per game (template), most popular first."""
    seats = func.count(BookingItem.id).label("seats")
    rows = db.session.execute(
        select(GameTemplate.name, seats)
        .select_from(BookingItem)
        .join(Booking, Booking.id == BookingItem.booking_id)
        .join(GameSlot, GameSlot.id == BookingItem.slot_id)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
        .where(BookingItem.is_live.is_(True), Booking.status.in_(SOLD))
        .group_by(GameTemplate.name)
        .order_by(seats.desc(), GameTemplate.name)
        .limit(top)
    ).all()
    return [(name, int(n)) for name, n in rows]


def _age_years() -> ColumnElement:
    if _dialect() == "postgresql":
        return func.extract("year", func.age(Event.event_date, Child.date_of_birth))
    year = func.strftime("%Y", Event.event_date) - func.strftime("%Y", Child.date_of_birth)
    before_birthday = case(
        (func.strftime("%m-%d", Event.event_date) < func.strftime("%m-%d", Child.date_of_birth), 1),
        else_=0,
    )
    return year - before_birthday


def age_groups() -> list[tuple[int, int]]:
    """Seats sold by the child's age at the event in whole years: [(years, seats)], the last
    group being ``AGE_GROUPS - 1`` years and older."""
    years = _age_years()
    group = case((years >= AGE_GROUPS - 1, literal(AGE_GROUPS - 1)), else_=years).label("grp")
    rows = db.session.execute(
        select(group, func.count(BookingItem.id))
        .select_from(BookingItem)
        .join(Booking, Booking.id == BookingItem.booking_id)
        .join(Event, Event.id == Booking.event_id)
        .join(Child, Child.id == BookingItem.child_id)
        .where(BookingItem.is_live.is_(True), Booking.status.in_(SOLD))
        .group_by(group)
    ).all()
    counts = {int(g): int(n) for g, n in rows if g is not None}
    return [(g, counts.get(g, 0)) for g in range(AGE_GROUPS)]


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


ALL_TIME_NAMESPACE = "admin-stats"


def all_time_figures() -> dict:
    """Revenue by city and by event, game popularity and ages: sums over every booking ever
    sold, the page's slowest figures (most of its time with 100k bookings, measured with
    bench/admin_bench.py). Kept ADMIN_STATS_CACHE_SECONDS (a minute; 0 = always fresh): the
    charts of all time may lag a sale by that much, the tiles and the period's charts do not."""
    def build() -> dict:
        by_city, by_event = revenue_split()
        return {
            "by_city": by_city,
            "by_event": [{**row, "event_date": row["event_date"].isoformat()
                          if row["event_date"] else None} for row in by_event],
            "games": game_popularity(),
            "ages": age_groups(),
        }

    from flask import current_app


    ttl = int(current_app.config.get("ADMIN_STATS_CACHE_SECONDS", 60))
    data = json.loads(cached_json(ALL_TIME_NAMESPACE, "all-time", {}, ttl, build))
    for row in data["by_event"]:
        row["event_date"] = date.fromisoformat(row["event_date"]) if row["event_date"] else None
    for key in ("by_city", "games", "ages"):
        data[key] = [tuple(pair) for pair in data[key]]
    return data


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
        **all_time_figures(),
        "upcoming": upcoming_events(today),
        "recent": recent_bookings(),
    }

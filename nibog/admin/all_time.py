"""The overview's all-time figures: revenue by city and by event, game popularity, children's
ages. Sums over every booking ever sold, so a snapshot of them is kept in
``admin_stats_snapshots`` and a page view reads one row.

The worker recomputes the snapshot every ``REFRESH_SECONDS`` (``nibog.admin.tasks``, a periodic
job). A view computes the figures itself, and stores them, only when the row is missing or older
than ``ADMIN_STATS_CACHE_SECONDS``: no worker (the embedded default), a worker that is down, or 0
(always fresh; the tests). Either way they come from the queries below, on ``booking.stats``'
definitions, so they agree with the tiles and the admin API: revenue by city or by event sums to
the total. They may lag a sale by up to ``ADMIN_STATS_CACHE_SECONDS``; the tiles and the period's
charts do not.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from nibog.accounts.models import Child
from nibog.admin.models import StatsSnapshot
from nibog.booking.admin.stats import SOLD
from nibog.booking.models import Booking, BookingItem
from nibog.catalog.models import City, Event, EventGame, GameSlot, GameTemplate
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.payments.models import Payment, Refund

# Children's age at the event, in whole years; the last group is "this many and older".
AGE_GROUPS = 6
SNAPSHOT = "all-time"
# How often the worker recomputes the snapshot: well inside ADMIN_STATS_CACHE_SECONDS (60), so
# with a running worker no view computes them (a job may start up to WORKER_YIELD_MAX_SECONDS
# late while the CPUs are busy).
REFRESH_SECONDS = 30


def _dialect() -> str:
    return db.session.get_bind().dialect.name


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


def compute() -> dict:
    """The figures now, as JSON-ready data (what the snapshot stores)."""
    by_city, by_event = revenue_split()
    return {
        "by_city": by_city,
        "by_event": [{**row, "event_date": row["event_date"].isoformat()
                      if row["event_date"] else None} for row in by_event],
        "games": game_popularity(),
        "ages": age_groups(),
    }


def store(data: dict, computed_at: datetime) -> None:
    """Keep ``data`` as the snapshot unless a newer one is already there (a slow computation
    that began earlier never replaces a later one's figures)."""
    insert = postgresql.insert if _dialect() == "postgresql" else sqlite.insert
    stmt = insert(StatsSnapshot).values(name=SNAPSHOT, data=data, computed_at=computed_at)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=[StatsSnapshot.name],
        set_={"data": stmt.excluded.data, "computed_at": stmt.excluded.computed_at},
        where=StatsSnapshot.computed_at < stmt.excluded.computed_at,
    ))


def refresh() -> dict:
    """Compute the figures and store them (the periodic job; a stale page view)."""
    began = utcnow()
    data = compute()
    store(data, began)
    return data


def _decoded(data: dict) -> dict:
    data = {**data, "by_event": [
        {**row, "event_date": date.fromisoformat(row["event_date"]) if row["event_date"] else None}
        for row in data["by_event"]]}
    for key in ("by_city", "games", "ages"):
        data[key] = [tuple(pair) for pair in data[key]]
    return data


def figures() -> dict:
    """The snapshot, if it is at most ADMIN_STATS_CACHE_SECONDS old; otherwise computed now
    (and stored for the next views)."""
    max_age = int(current_app.config.get("ADMIN_STATS_CACHE_SECONDS", 60))
    if max_age > 0:
        row = db.session.execute(
            select(StatsSnapshot.data, StatsSnapshot.computed_at)
            .where(StatsSnapshot.name == SNAPSHOT)
        ).one_or_none()
        if row is not None and row.computed_at >= utcnow() - timedelta(seconds=max_age):
            return _decoded(row.data)
        return _decoded(refresh())
    return _decoded(compute())

"""The overview's all-time figures come from a snapshot the worker refreshes
(``nibog.admin.all_time``): after the job, what the page shows equals a recomputation from the
rows themselves, over a varied data set (cities, events, games, refunds of every status,
cancellations, holds, moved children, cash at the desk, sales either side of midnight in India)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from nibog.accounts.models import Child
from nibog.admin import all_time, stats
from nibog.admin.models import StatsSnapshot
from nibog.booking.models import Booking, BookingItem
from nibog.catalog.models import City, Event, EventGame, GameSlot, GameTemplate
from nibog.core import boundary
from nibog.core.jobs import resolve
from nibog.core.timeutil import IST, today_ist, utcnow
from nibog.extensions import db
from nibog.payments.models import Payment, Refund
from nibog.tasks import PERIODIC_JOBS
from tests.factories import (
    ChildFactory,
    CityFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    UserFactory,
    VenueFactory,
    make_booking,
    pay,
)

SOLD = ("confirmed", "completed")


@pytest.fixture
def snapshot_kept(app, monkeypatch):
    monkeypatch.setitem(app.config, "ADMIN_STATS_CACHE_SECONDS", 60)


def _around_ist_midnight(rng: random.Random, today: date) -> datetime:
    """A moment within a few minutes either side of an Indian midnight in the last week."""
    midnight = datetime.combine(today - timedelta(days=rng.randint(0, 6)), time.min, tzinfo=IST)
    return midnight + timedelta(minutes=rng.choice([-3, -1, 1, 3]), seconds=rng.randint(0, 59))


def varied_world(seed: int = 18, sales: int = 150) -> None:
    rng = random.Random(seed)
    today = today_ist()
    cities = [CityFactory(name=n) for n in ("Hyderabad", "Pune", "Chennai", "Kochi")]
    venues = [VenueFactory(city=c) for c in cities]
    templates = [GameTemplateFactory(name=n) for n in
                 ("Baby Crawling", "Running Race", "Cycle Race", "Ring Holding", "Shot Put")]
    slots = []
    # Twelve events (more than the ten the chart names): past, today and coming, some cities
    # with several; two games each.
    for e in range(12):
        event = EventFactory(title=f"Games {e}", venue=venues[e % 3 if e < 9 else 3],
                             event_date=today + timedelta(days=rng.randint(-60, 60)),
                             status="completed" if e % 4 == 0 else "published")
        for t in rng.sample(templates, 2):
            slots.append(GameSlotFactory(event_game=EventGameFactory(event=event, template=t),
                                         capacity=200))
    parents = [UserFactory() for _ in range(6)]
    for i in range(sales):
        slot = rng.choice(slots)
        event_date = db.session.get(Event, db.session.get(EventGame, slot.event_game_id).event_id
                                    ).event_date
        # Children of every age group, some with their birthday on the event's day.
        born = (event_date.replace(year=event_date.year - i % 7) if i % 7 in (1, 2, 5) else
                today - timedelta(days=rng.randint(100, 7 * 365)))
        kid = ChildFactory(parent=parents[i % 6], date_of_birth=born)
        pairs = [(kid, slot)]
        if i % 3 == 0:  # a second game of the same event
            other = [s for s in slots if s.event_game_id != slot.event_game_id and
                     db.session.get(EventGame, s.event_game_id).event_id ==
                     db.session.get(EventGame, slot.event_game_id).event_id]
            pairs.append((kid, other[0]))
        status = rng.choice(["confirmed"] * 5 + ["completed"] * 2 +
                            ["cancelled", "expired", "pending_payment"])
        cash = i % 9 == 4 and status != "pending_payment"
        made = _around_ist_midnight(rng, today)
        booking = make_booking(parents[i % 6], pairs, status=status,
                               price=rng.choice([49900, 79900, 99900]),
                               payment_mode="cash" if cash else "online", created_at=made)
        if status in SOLD and i % 2:  # confirmed a little later (cash counts from then)
            booking.confirmed_at = made + timedelta(minutes=2)
            db.session.commit()
        if i % 11 == 5 and len(pairs) == 2 and status in SOLD:
            # A child moved out of one game: that seat is no longer live.
            item = db.session.scalars(select(BookingItem).where(
                BookingItem.booking_id == booking.id).order_by(BookingItem.id)).first()
            item.is_live = False
            db.session.commit()
        if cash or status in ("expired", "pending_payment"):
            continue
        captured = made + timedelta(minutes=rng.choice([1, 4]))  # some cross midnight
        if status == "cancelled":
            pay(booking, refunded=booking.total if i % 2 else booking.total // 2,
                refund_status=rng.choice(["processed", "pending", "failed"]), captured_at=captured)
        elif i % 5 == 0:
            pay(booking, refunded=rng.choice([10000, 20000]),
                refund_status=rng.choice(["processed", "pending", "failed"]), captured_at=captured)
        else:
            pay(booking, captured_at=captured)


def recomputed() -> dict:
    """The all-time figures from the rows, in Python, on the documented definitions."""
    bookings = {b.id: b for b in db.session.scalars(select(Booking))}
    payments = {p.id: p for p in db.session.scalars(select(Payment))}
    events = {e.id: e for e in db.session.scalars(select(Event))}
    cities = {c.id: c.name for c in db.session.scalars(select(City))}
    revenue: dict[int, int] = defaultdict(int)
    for p in payments.values():
        if p.captured_at is not None:
            revenue[bookings[p.booking_id].event_id] += p.amount
    for r in db.session.scalars(select(Refund)):
        if r.status != "failed":
            revenue[bookings[payments[r.payment_id].booking_id].event_id] -= r.amount
    for b in bookings.values():
        if b.payment_mode == "cash" and b.status in SOLD:
            revenue[b.event_id] += b.total
    revenue = {e: v for e, v in revenue.items() if v}
    by_city: dict[str, int] = defaultdict(int)
    for e, v in revenue.items():
        by_city[cities[events[e].city_id]] += v
    ranked = sorted(revenue.items(), key=lambda kv: (-kv[1], kv[0]))
    by_event = [{"event_id": e, "title": events[e].title, "event_date": events[e].event_date,
                 "amount": v} for e, v in ranked[:10]]
    if sum(v for _, v in ranked[10:]):
        by_event.append({"event_id": None, "title": None, "event_date": None,
                         "amount": sum(v for _, v in ranked[10:])})

    template_of = {s.id: db.session.get(GameTemplate, db.session.get(
        EventGame, s.event_game_id).game_template_id).name
        for s in db.session.scalars(select(GameSlot))}
    games: dict[str, int] = defaultdict(int)
    ages = [0] * all_time.AGE_GROUPS
    for item in db.session.scalars(select(BookingItem)):
        booking = bookings[item.booking_id]
        if not item.is_live or booking.status not in SOLD:
            continue
        games[template_of[item.slot_id]] += 1
        born, on = db.session.get(Child, item.child_id).date_of_birth, events[booking.event_id].event_date
        years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        ages[min(years, all_time.AGE_GROUPS - 1)] += 1
    return {
        "by_city": sorted(by_city.items(), key=lambda kv: (-kv[1], kv[0])),
        "by_event": by_event,
        "games": sorted(games.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
        "ages": list(enumerate(ages)),
    }


def run_periodic_job() -> None:
    """What the worker does every REFRESH_SECONDS: the listed function, in its own unit."""
    job = next(j for j in PERIODIC_JOBS if j.func.__module__ == "nibog.admin.tasks")
    assert job.seconds < 60  # fresher than ADMIN_STATS_CACHE_SECONDS' default
    boundary.run_unit(resolve(job.path))


def _all_time(overview: dict) -> dict:
    return {k: overview[k] for k in ("by_city", "by_event", "games", "ages")}


def test_the_page_shows_the_snapshot_and_it_equals_the_rows(app, snapshot_kept):
    varied_world()
    expected = recomputed()
    assert len(expected["by_event"]) == 11 and expected["by_event"][-1]["event_id"] is None
    assert len(expected["by_city"]) == 4 and len(expected["games"]) == 5
    assert all(n for _, n in expected["ages"])  # every age group has children

    run_periodic_job()
    kept = db.session.get(StatsSnapshot, all_time.SNAPSHOT).computed_at
    shown = stats.overview(30)
    assert _all_time(shown) == expected
    assert db.session.get(StatsSnapshot, all_time.SNAPSHOT).computed_at == kept  # read, not redone
    # The same totals as the tiles.
    assert sum(v for _, v in shown["by_city"]) == shown["totals"]["revenue_total"]
    assert sum(r["amount"] for r in shown["by_event"]) == shown["totals"]["revenue_total"]


def test_per_day_figures_across_indian_midnight(app):
    varied_world(seed=7)
    today = today_ist()
    bookings: dict[date, int] = defaultdict(int)
    revenue: dict[date, int] = defaultdict(int)

    def day(moment: datetime) -> date:
        return moment.astimezone(IST).date()

    rows = db.session.scalars(select(Booking)).all()
    for b in rows:
        if b.status in SOLD:
            bookings[day(b.created_at)] += 1
            if b.payment_mode == "cash":
                revenue[day(b.confirmed_at or b.created_at)] += b.total
    for p in db.session.scalars(select(Payment)):
        if p.captured_at is not None:
            revenue[day(p.captured_at)] += p.amount
    for r in db.session.scalars(select(Refund)):
        if r.status != "failed":
            revenue[day(r.created_at)] -= r.amount
    shown = stats.per_day(7, today)
    assert [(f.day, f.bookings, f.revenue) for f in shown] == [
        (today - timedelta(days=6 - i), bookings[today - timedelta(days=6 - i)],
         revenue[today - timedelta(days=6 - i)]) for i in range(7)]
    assert {f.day for f in shown if f.bookings} >= {today - timedelta(days=1), today}


def test_a_sale_shows_after_the_next_refresh(app, snapshot_kept):
    varied_world(seed=3, sales=40)
    run_periodic_job()
    before = stats.overview()
    parent = UserFactory()
    slot = db.session.scalars(select(GameSlot).order_by(GameSlot.id)).first()
    pay(make_booking(parent, [(ChildFactory(parent=parent), slot)], price=123400))
    assert _all_time(stats.overview()) == _all_time(before)  # the snapshot, up to a minute old
    run_periodic_job()
    after = stats.overview()
    assert _all_time(after) == recomputed() != _all_time(before)
    assert sum(v for _, v in after["by_city"]) == sum(v for _, v in before["by_city"]) + 123400


def test_a_stale_or_missing_snapshot_is_computed_by_the_view(app, snapshot_kept):
    varied_world(seed=5, sales=40)
    assert db.session.get(StatsSnapshot, all_time.SNAPSHOT) is None
    assert _all_time(stats.overview()) == recomputed()  # no worker yet: the view computes
    boundary.commit()
    row = db.session.get(StatsSnapshot, all_time.SNAPSHOT)
    assert row is not None  # and keeps them for the next views
    row.computed_at = utcnow() - timedelta(seconds=61)  # the worker stopped a while ago
    row.data = {**row.data, "by_city": [["Nowhere", 1]]}
    boundary.commit()
    assert _all_time(stats.overview()) == recomputed()


def test_an_older_computation_never_replaces_a_newer_snapshot(app, snapshot_kept):
    varied_world(seed=9, sales=40)
    run_periodic_job()
    newer = db.session.get(StatsSnapshot, all_time.SNAPSHOT).computed_at
    all_time.store({**all_time.compute(), "by_city": [["Nowhere", 1]]},
                   newer - timedelta(seconds=5))
    boundary.commit()
    db.session.expire_all()
    assert db.session.get(StatsSnapshot, all_time.SNAPSHOT).computed_at == newer
    assert _all_time(stats.overview()) == recomputed()

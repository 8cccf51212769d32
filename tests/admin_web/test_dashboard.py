"""The overview page: its tiles and charts show what the database holds."""

from __future__ import annotations

import re
from datetime import time, timedelta

from nibog.admin import all_time, stats
from nibog.core.timeutil import local_to_utc, today_ist
from tests.factories import (
    ChildFactory,
    CityFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    UserFactory,
    VenueFactory,
    birth_date_for_age,
    make_booking,
    pay,
)
from tests.helpers import html


def world():
    """Two cities, two events, two games; sales spread over three days."""
    today = today_ist()
    hyd = VenueFactory(city=CityFactory(name="Hyderabad"))
    pune = VenueFactory(city=CityFactory(name="Pune"))
    crawl = GameTemplateFactory(name="Baby Crawling")
    run = GameTemplateFactory(name="Running Race")
    e1 = EventFactory(title="Hyderabad Games", venue=hyd, event_date=today + timedelta(days=20))
    e2 = EventFactory(title="Pune Games", venue=pune, event_date=today + timedelta(days=40))
    s_crawl = GameSlotFactory(event_game=EventGameFactory(event=e1, template=crawl), capacity=10)
    s_run = GameSlotFactory(event_game=EventGameFactory(event=e1, template=run), capacity=10)
    s_pune = GameSlotFactory(event_game=EventGameFactory(event=e2, template=run), capacity=20)
    parent = UserFactory(full_name="Kavya Rao")

    def kid(years_at_event, event):
        return ChildFactory(parent=parent,
                            date_of_birth=birth_date_for_age(12 * years_at_event + 3, event.event_date))

    two_days_ago = local_to_utc(today - timedelta(days=2), time(12, 0))
    # Today: two seats paid online (2 × 799), one cash seat (500), a hold, a cancelled one.
    paid = make_booking(parent, [(kid(1, e1), s_crawl), (kid(2, e1), s_run)])
    pay(paid)
    make_booking(parent, [(kid(3, e1), s_run)], payment_mode="cash", price=50000)
    make_booking(parent, [(kid(1, e1), s_crawl)], status="pending_payment")
    refunded = make_booking(parent, [(kid(4, e2), s_pune)], status="cancelled")
    pay(refunded, refunded=79900)
    # Two days ago: one seat in Pune, paid then, 20000 refunded today.
    old = make_booking(parent, [(kid(7, e2), s_pune)], created_at=two_days_ago)
    pay(old, refunded=20000, captured_at=two_days_ago)
    return {"today": today, "e1": e1, "e2": e2}


def test_per_day_figures_match_the_sales(app):
    w = world()
    days = {f.day: f for f in stats.per_day(7, w["today"])}
    assert len(days) == 7
    today, two_ago = w["today"], w["today"] - timedelta(days=2)
    assert days[today].bookings == 2  # paid + cash (the hold and the cancelled one are not sold)
    assert days[two_ago].bookings == 1
    # Today: 159800 captured + 50000 cash + 79900 captured - 79900 refunded - 20000 refunded.
    assert days[today].revenue == 159800 + 50000 - 20000
    assert days[two_ago].revenue == 79900
    assert days[today - timedelta(days=1)].revenue == 0
    total = stats.overview(7, w["today"])
    assert total["period_revenue"] == total["totals"]["revenue_total"] == 159800 + 50000 + 59900


def test_revenue_by_city_and_event_add_up_to_the_total(app):
    w = world()
    by_city, by_event = all_time.revenue_split()
    assert by_city == [("Hyderabad", 209800), ("Pune", 59900)]
    assert [(r["title"], r["amount"]) for r in by_event] == [
        ("Hyderabad Games", 209800), ("Pune Games", 59900)]
    assert sum(v for _, v in by_city) == stats.dashboard_stats(w["today"])["revenue_total"]


def test_revenue_by_event_sums_the_tail_into_one_row(app):
    w = world()
    _, by_event = all_time.revenue_split(top=1)
    assert by_event[-1] == {"event_id": None, "title": None, "event_date": None, "amount": 59900}
    assert sum(r["amount"] for r in by_event) == stats.dashboard_stats(w["today"])["revenue_total"]


def test_game_popularity_and_age_groups_count_sold_seats(app):
    world()
    # Sold seats: crawl 1 (age 1), run 1 (age 2), run cash 1 (age 3), Pune run 1 (age 7 → 5+).
    assert all_time.game_popularity() == [("Running Race", 3), ("Baby Crawling", 1)]
    assert all_time.age_groups() == [(0, 0), (1, 1), (2, 1), (3, 1), (4, 0), (5, 1)]


def test_upcoming_events_show_seats_taken(app):
    w = world()
    upcoming = stats.upcoming_events(w["today"])
    assert [(e["title"], e["taken"], e["capacity"]) for e in upcoming] == [
        ("Hyderabad Games", 4, 20),  # 3 sold + 1 held
        ("Pune Games", 1, 20),
    ]


def chart_numbers(page: str, key: str) -> list[tuple[str, int]]:
    table = re.search(rf'<table class="chart-table" data-chart="{key}">(.*?)</table>', page, re.S)
    assert table, key
    return [(label.strip(), int(value)) for label, value in re.findall(
        r'<tr><td>(.*?)</td><td class="num" data-value="(-?\d+)">', table.group(1))]


def test_the_page_shows_tiles_and_every_chart_with_its_numbers(admin_client):
    world()
    page = admin_client.get("/admin/?days=7")
    assert page.status_code == 200
    text = html(page)
    assert re.search(r'id="tile-bookings">\s*<span class="label">[^<]+</span>\s*'
                     r'<span class="value">2</span>', text)
    assert "₹2,697 in total" in text  # revenue in total, net of refunds
    assert chart_numbers(text, "revenue-by-city") == [("Hyderabad", 209800), ("Pune", 59900)]
    assert chart_numbers(text, "game-popularity") == [("Running Race", 3), ("Baby Crawling", 1)]
    assert [n for _, n in chart_numbers(text, "age-groups")] == [0, 1, 1, 1, 0, 1]
    per_day = chart_numbers(text, "bookings-per-day")
    assert len(per_day) == 7 and [n for _, n in per_day][-3:] == [1, 0, 2]
    assert [n for _, n in chart_numbers(text, "revenue-per-day")][-3:] == [79900, 0, 189800]
    assert text.count('<svg class="chart"') == 6
    assert "Hyderabad Games" in text and "Kavya Rao" in text  # upcoming, recent bookings


def test_an_empty_database_shows_an_empty_dashboard(admin_client):
    page = admin_client.get("/admin/")
    assert page.status_code == 200
    assert "Nothing to show yet." in html(page)


def test_staff_see_the_overview_too(staff_client):
    world()
    assert staff_client.get("/admin/?days=90").status_code == 200

"""Event detail, slots, add-ons, reviews and eligibility (age in months on the event date)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from nibog.catalog.models import EventFaq, EventGalleryImage, Review
from nibog.extensions import db
from tests.catalog.conftest import book_seats
from tests.factories import (
    AddOnFactory,
    AddOnVariantFactory,
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    UserFactory,
)
from tests.helpers import auth_headers, error_code


@pytest.fixture
def event(app):
    ev = EventFactory(event_date=date(2031, 3, 31), title="Spring Games")
    crawl = GameTemplateFactory(name="Crawl", category="crawling", min_age_months=5,
                                max_age_months=15, default_price=50000)
    run = GameTemplateFactory(name="Run", category="running", min_age_months=13,
                              max_age_months=84, default_price=90000)
    g1 = EventGameFactory(event=ev, template=crawl, sort_order=1)
    g2 = EventGameFactory(event=ev, template=run, price=80000, max_age_months=36, sort_order=2)
    s1 = GameSlotFactory(event_game=g1, capacity=3, price=None)
    s2 = GameSlotFactory(event_game=g2, capacity=2, price=75000)
    s3 = GameSlotFactory(event_game=g2, capacity=2, is_open=False)
    addon = AddOnFactory(event=ev, name="T-shirt", price=29900)
    AddOnVariantFactory(addon=addon, name="S", stock=5, sold_count=2)
    AddOnVariantFactory(addon=addon, name="M", stock=None, price=34900)
    db.session.add_all([
        EventGalleryImage(event_id=ev.id, image_url="https://img/1.jpg", caption="Finish line"),
        EventFaq(event_id=ev.id, question="Parking?", answer="Yes"),
    ])
    db.session.commit()
    return {"id": ev.id, "g1": g1.id, "g2": g2.id, "s1": s1.id, "s2": s2.id, "s3": s3.id,
            "addon": addon.id}


def test_detail_shape_prices_and_seats(client, event):
    body = client.get(f"/api/events/{event['id']}").get_json()
    assert body["title"] == "Spring Games" and body["description"] == ""
    g1, g2 = body["games"]
    assert g1["event_game_id"] == event["g1"]
    assert g1["game"] == {"id": g1["game"]["id"], "name": "Crawl", "category": "crawling",
                          "min_age_months": 5, "max_age_months": 15, "duration_minutes": 60}
    assert g1["price"] == 50000 and g1["slots"][0]["price"] == 50000  # template fallback
    assert g2["price"] == 80000 and g2["game"]["max_age_months"] == 36  # game overrides
    assert [s["price"] for s in g2["slots"]] == [75000, 80000]
    assert set(g1["slots"][0]) == {"id", "event_game_id", "game_name", "start_time", "end_time",
                                   "capacity", "seats_left", "price", "status"}
    assert [s["status"] for s in g2["slots"]] == ["available", "closed"]
    assert body["seats_left"] == 5  # closed slots offer nothing
    assert body["gallery"] == [{"id": body["gallery"][0]["id"], "image_url": "https://img/1.jpg",
                                "caption": "Finish line"}]
    assert body["faqs"][0]["question"] == "Parking?"
    variants = body["addons"][0]["variants"]
    assert [(v["name"], v["price"], v["stock_left"]) for v in variants] == [
        ("S", 29900, 3), ("M", 34900, None)]
    assert body["rating"] == {"average": None, "count": 0}


def test_detail_seats_are_live_even_when_cached(client, event):
    client.get(f"/api/events/{event['id']}")  # primes the cache
    child = ChildFactory()
    book_seats(type("S", (), {"id": event["s1"]}), child, seats=3)
    body = client.get(f"/api/events/{event['id']}").get_json()
    slot = body["games"][0]["slots"][0]
    assert (slot["seats_left"], slot["status"]) == (0, "full")
    assert body["seats_left"] == 2


def test_drafts_and_unknown_events_are_404(client, app):
    draft = EventFactory(status="draft")
    assert client.get(f"/api/events/{draft.id}").status_code == 404
    assert error_code(client.get("/api/events/999999")) == "not_found"
    assert client.get("/api/events/999999/slots").status_code == 404


def test_registration_closed_closes_every_slot(client, app):
    ev = EventFactory(event_date=date.today() - timedelta(days=1))
    GameSlotFactory(event_game=EventGameFactory(event=ev))
    slots = client.get(f"/api/events/{ev.id}/slots").get_json()
    assert [s["status"] for s in slots] == ["closed"]
    assert client.get(f"/api/events/{ev.id}").get_json()["registration_open"] is False


def test_slots_filtered_by_age_and_by_child(client, event):
    all_slots = client.get(f"/api/events/{event['id']}/slots").get_json()
    assert {s["id"] for s in all_slots} == {event["s1"], event["s2"], event["s3"]}
    by_age = client.get(f"/api/events/{event['id']}/slots?age_months=30").get_json()
    assert {s["id"] for s in by_age} == {event["s2"], event["s3"]}
    assert {s["game_name"] for s in by_age} == {"Run"}

    child = ChildFactory(date_of_birth=date(2030, 3, 31))  # 12 months on 2031-03-31
    url = f"/api/events/{event['id']}/slots?child_id={child.id}"
    mine = client.get(url, headers=auth_headers(child.parent)).get_json()
    assert {s["id"] for s in mine} == {event["s1"]}
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth_headers(UserFactory())).status_code == 404


@pytest.mark.parametrize(
    ("dob", "months"),
    [
        (date(2030, 3, 31), 12),  # exactly one year on the event date
        (date(2030, 4, 1), 11),   # one day short of 12 months
        (date(2030, 10, 31), 5),  # born 31st: 5 months on 31 March
        (date(2030, 11, 1), 4),
    ],
)
def test_eligibility_counts_whole_months_on_the_event_date(client, event, dob, months):
    body = client.get(f"/api/events/{event['id']}/check-eligibility?date_of_birth={dob}").get_json()
    assert body["age_months_on_event_date"] == months
    crawl_ok = 5 <= months <= 15
    assert [g["name"] for g in body["eligible_games"]] == (["Crawl"] if crawl_ok else [])
    reasons = {g["name"]: g["reason"] for g in body["ineligible_games"]}
    assert reasons["Run"] == "too_young"
    if not crawl_ok:
        assert reasons["Crawl"] == "too_young"


def test_eligibility_at_the_upper_boundary(client, event):
    url = f"/api/events/{event['id']}/check-eligibility?date_of_birth="
    # 36 months on the event date: still in the Run game (13-36 after the game override) ...
    body = client.get(url + "2028-03-31").get_json()
    assert body["age_months_on_event_date"] == 36
    assert [g["name"] for g in body["eligible_games"]] == ["Run"]
    assert {g["name"]: g["reason"] for g in body["ineligible_games"]} == {"Crawl": "too_old"}
    # Born a day earlier: still 36 whole months (the 37th completes on 30 April) ...
    body = client.get(url + "2028-03-30").get_json()
    assert body["age_months_on_event_date"] == 36
    # ... born a month earlier: 37 months, too old for both.
    body = client.get(url + "2028-02-29").get_json()
    assert body["age_months_on_event_date"] == 37
    assert body["eligible_games"] == []
    assert "Run" in body["ineligible_games"][1]["message"]


def test_eligibility_by_child_needs_auth_and_ownership(client, event):
    child = ChildFactory(date_of_birth=date(2030, 1, 15))
    url = f"/api/events/{event['id']}/check-eligibility?child_id={child.id}"
    body = client.get(url, headers=auth_headers(child.parent)).get_json()
    assert body["age_months_on_event_date"] == 14
    assert {g["name"] for g in body["eligible_games"]} == {"Crawl", "Run"}
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth_headers(UserFactory())).status_code == 404
    missing = client.get(f"/api/events/{event['id']}/check-eligibility")
    assert missing.status_code == 422


def test_addons_endpoint_and_reviews(client, event):
    addons = client.get(f"/api/events/{event['id']}/add-ons").get_json()
    assert addons[0]["name"] == "T-shirt" and len(addons[0]["variants"]) == 2

    parent = UserFactory(full_name="Asha Rao")
    child = ChildFactory(parent=parent)
    for rating in (5, 4, 2):
        booking_id = book_seats(type("S", (), {"id": event["s2"]}), child, status="completed", seats=0)
        db.session.add(Review(booking_id=booking_id, event_id=event["id"], user_id=parent.id,
                              rating=rating, comment=f"{rating} stars"))
        db.session.execute(sa.text("UPDATE booking_items SET is_live = false"))
        db.session.commit()
    page = client.get(f"/api/events/{event['id']}/reviews?per_page=2").get_json()
    assert page["total"] == 3 and page["pages"] == 2 and len(page["items"]) == 2
    assert page["items"][0]["author_name"] == "Asha"
    detail = client.get(f"/api/events/{event['id']}").get_json()
    assert detail["rating"] == {"average": 3.67, "count": 3}

"""Admin events: nested create, incremental edits, guards, status transitions, clone, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from nibog.catalog.models import (
    AddOnVariant,
    City,
    Event,
    EventGame,
    GameSlot,
    GameTemplate,
    Venue,
)
from nibog.core.audit import AuditLog
from nibog.core.timeutil import today_ist
from nibog.extensions import db
from tests.catalog.conftest import book_seats
from tests.factories import ChildFactory, GameTemplateFactory, VenueFactory
from tests.helpers import error_code


@pytest.fixture
def place(app):
    venue = VenueFactory()
    crawl = GameTemplateFactory(name="Crawl", min_age_months=5, max_age_months=15,
                                default_price=50000)
    bare = GameTemplateFactory(name="Bare", default_price=None)
    return {"city_id": venue.city_id, "venue_id": venue.id, "crawl": crawl.id, "bare": bare.id}


def payload(place, **over):
    body = {
        "title": "NIBOG Hyderabad Winter Games", "city_id": place["city_id"],
        "venue_id": place["venue_id"], "event_date": str(today_ist() + timedelta(days=30)),
        "start_time": "09:00", "end_time": "17:00", "description": "Fun", "status": "published",
        "registration_closes_at": None,
        "games": [
            {"game_template_id": place["crawl"], "price": None, "min_age_months": None,
             "max_age_months": None,
             "slots": [{"start_time": "09:30", "end_time": "10:00", "capacity": 20, "price": None},
                       {"start_time": "10:30", "end_time": "11:00", "capacity": 10,
                        "price": 45000}]},
            {"game_template_id": place["bare"], "price": 60000,
             "slots": [{"start_time": "12:00", "end_time": "13:00", "capacity": 5}]},
        ],
        "addons": [{"name": "T-shirt", "price": 29900, "variants": [{"name": "S", "stock": 50}]}],
    }
    body.update(over)
    return body


def create(client, admin_h, place, **over):
    resp = client.post("/api/admin/events", json=payload(place, **over), headers=admin_h)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_create_nested_returns_the_public_detail(client, admin_h, place):
    body = create(client, admin_h, place)
    assert body == client.get(f"/api/events/{body['id']}").get_json()
    assert body["slug"].startswith("nibog-hyderabad-winter-games-")
    crawl, bare = body["games"]
    assert [s["price"] for s in crawl["slots"]] == [50000, 45000]  # template, then own price
    assert crawl["price"] == 50000 and bare["price"] == 60000
    assert bare["slots"][0]["price"] == 60000  # game price beats the (missing) template one
    assert body["price_from"] == 45000 and body["seats_left"] == 35
    assert body["addons"][0]["variants"][0] == {
        "id": body["addons"][0]["variants"][0]["id"], "name": "S", "price": 29900,
        "stock_left": 50}
    assert client.get("/api/events").get_json()["total"] == 1
    again = create(client, admin_h, place)
    assert again["slug"] != body["slug"]
    log = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "event.create")).all()
    assert len(log) == 2 and log[0].after["games"][0]["slots"][0]["capacity"] == 20


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end_time": "08:00"}, "end_time"),
        ({"venue_id": "other"}, "venue_id"),
        ({"games": [{"game_template_id": 999999, "slots": []}]}, "games"),
        ({"games": [{"game_template_id": "bare", "slots": [
            {"start_time": "09:00", "end_time": "10:00", "capacity": 5}]}]}, "slots"),
        ({"games": [{"game_template_id": "crawl", "min_age_months": 20, "max_age_months": 10}]},
         "games"),
    ],
)
def test_create_validation(client, admin_h, place, change, field):
    if change.get("venue_id") == "other":
        change["venue_id"] = VenueFactory().id  # a venue in another city
    for game in change.get("games", []):
        if isinstance(game["game_template_id"], str):
            game["game_template_id"] = place[game["game_template_id"]]
    resp = client.post("/api/admin/events", json=payload(place, **change), headers=admin_h)
    assert resp.status_code == 422, resp.get_json()
    assert field in str(resp.get_json()["error"]["details"])
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0


@pytest.mark.parametrize(
    "game",
    [
        pytest.param({"game_template_id": "bare", "price": 799.99, "slots": [
            {"start_time": "12:00", "end_time": "13:00", "capacity": 5}]}, id="rupees-as-float"),
        pytest.param({"game_template_id": "bare", "price": 60000, "slots": [
            {"start_time": "12:00", "end_time": "13:00", "capacity": 20.9}]}, id="float-capacity"),
    ],
)
def test_money_and_seats_are_whole_numbers(client, admin_h, place, game):
    """Paise and seats are integers: a float is refused, never truncated (799.99 would
    otherwise sell at 7.99 rupees)."""
    game["game_template_id"] = place[game["game_template_id"]]
    resp = client.post("/api/admin/events", json=payload(place, games=[game]), headers=admin_h)
    assert resp.status_code == 422, resp.get_json()
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0


def test_a_new_game_in_an_edit_needs_complete_slots(client, admin_h, place):
    event = create(client, admin_h, place, status="draft")
    resp = client.put(f"/api/admin/events/{event['id']}", headers=admin_h, json={
        "games": [{"game_template_id": place["bare"], "slots": [{"capacity": 5}]}]})
    assert resp.status_code == 422, resp.get_json()
    assert "start_time" in str(resp.get_json()["error"]["details"])


def test_publishing_needs_something_to_book(client, admin_h, place):
    resp = client.post("/api/admin/events", json=payload(place, games=[]), headers=admin_h)
    assert resp.status_code == 422 and error_code(resp) == "validation_error"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0
    draft = create(client, admin_h, place, games=[], status="draft")
    resp = client.post(f"/api/admin/events/{draft['id']}/status", json={"status": "published"},
                       headers=admin_h)
    assert resp.status_code == 422 and error_code(resp) == "validation_error"
    db.session.expire_all()
    assert db.session.get(Event, draft["id"]).status == "draft"


def test_incremental_edit(client, admin_h, place):
    ev = create(client, admin_h, place)
    crawl, bare = ev["games"]
    first, second = crawl["slots"]
    resp = client.put(f"/api/admin/events/{ev['id']}", headers=admin_h, json={
        "title": "Renamed",
        "games": [
            {"id": crawl["event_game_id"], "price": 55000, "slots": [
                {"id": first["id"], "capacity": 25},
                {"id": second["id"], "_delete": True},
                {"start_time": "15:00", "end_time": "15:30", "capacity": 7},
            ]},
            {"game_template_id": place["crawl"], "slots": [
                {"start_time": "16:00", "end_time": "16:30", "capacity": 3, "price": 1000}]},
        ],
        "addons": [{"id": ev["addons"][0]["id"], "variants": [{"name": "M", "stock": 10}]}],
    })
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["title"] == "Renamed" and body["slug"] == ev["slug"]
    games = {g["event_game_id"]: g for g in body["games"]}
    assert bare["event_game_id"] in games  # untouched rows stay
    edited = games[crawl["event_game_id"]]
    assert [(s["capacity"], s["price"]) for s in edited["slots"]] == [(25, 55000), (7, 55000)]
    assert len(body["games"]) == 3
    assert [v["name"] for v in body["addons"][0]["variants"]] == ["S", "M"]
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "event.update"))
    assert entry.before["title"] == "NIBOG Hyderabad Winter Games"
    assert entry.after["title"] == "Renamed"
    assert len(entry.before["games"][0]["slots"]) == 2


def test_edit_rejects_rows_of_other_events(client, admin_h, place):
    a, b = create(client, admin_h, place), create(client, admin_h, place)
    price_before = db.session.get(EventGame, b["games"][0]["event_game_id"]).price
    resp = client.put(f"/api/admin/events/{a['id']}", headers=admin_h,
                      json={"games": [{"id": b["games"][0]["event_game_id"], "price": 1}]})
    assert resp.status_code == 422 and error_code(resp) == "validation_error"
    db.session.expire_all()
    assert db.session.get(EventGame, b["games"][0]["event_game_id"]).price == price_before != 1


def test_capacity_cannot_go_below_booked_seats(client, admin_h, place):
    ev = create(client, admin_h, place)
    game = ev["games"][0]
    slot_id = game["slots"][0]["id"]
    for _ in range(3):
        book_seats(db.session.get(GameSlot, slot_id), ChildFactory())
    resp = client.put(f"/api/admin/events/{ev['id']}", headers=admin_h, json={
        "title": "Should not stick",
        "games": [{"id": game["event_game_id"], "slots": [{"id": slot_id, "capacity": 2}]}]})
    assert resp.status_code == 409
    assert error_code(resp) == "capacity_below_booked"
    assert resp.get_json()["error"]["details"]["booked_count"] == 3
    db.session.expire_all()
    assert db.session.get(GameSlot, slot_id).capacity == 20
    assert db.session.get(Event, ev["id"]).title == "NIBOG Hyderabad Winter Games"
    ok = client.put(f"/api/admin/events/{ev['id']}", headers=admin_h, json={
        "games": [{"id": game["event_game_id"], "slots": [{"id": slot_id, "capacity": 3}]}]})
    assert ok.status_code == 200
    assert ok.get_json()["games"][0]["slots"][0]["seats_left"] == 0
    gone = client.put(f"/api/admin/events/{ev['id']}", headers=admin_h, json={
        "games": [{"id": game["event_game_id"], "slots": [{"id": slot_id, "_delete": True}]}]})
    assert error_code(gone) == "slot_has_bookings"


def test_raising_capacity_offers_seats_to_the_waiting_list(client, admin_h, place):
    from nibog.booking.models import WaitingListEntry

    ev = create(client, admin_h, place)
    game = ev["games"][0]
    slot_id = game["slots"][1]["id"]
    client.put(f"/api/admin/events/{ev['id']}", headers=admin_h, json={
        "games": [{"id": game["event_game_id"], "slots": [{"id": slot_id, "capacity": 1}]}]})
    book_seats(db.session.get(GameSlot, slot_id), ChildFactory())
    waiting = ChildFactory(date_of_birth=today_ist() - timedelta(days=300))
    db.session.add(WaitingListEntry(slot_id=slot_id, child_id=waiting.id, user_id=waiting.user_id))
    db.session.commit()
    resp = client.put(f"/api/admin/events/{ev['id']}", headers=admin_h, json={
        "games": [{"id": game["event_game_id"], "slots": [{"id": slot_id, "capacity": 2}]}]})
    assert resp.status_code == 200
    db.session.expire_all()
    entry = db.session.scalar(sa.select(WaitingListEntry))
    assert entry.status == "offered"
    assert db.session.get(GameSlot, slot_id).booked_count == 2


def test_status_transitions(client, admin_h, place):
    ev = create(client, admin_h, place, status="draft")
    assert client.get(f"/api/events/{ev['id']}").status_code == 404

    def move(status):
        return client.post(f"/api/admin/events/{ev['id']}/status", json={"status": status},
                           headers=admin_h)

    assert move("completed").status_code == 409  # draft cannot complete
    assert move("published").get_json()["status"] == "published"
    resp = move("completed")
    assert error_code(resp) == "invalid_status_transition"  # the event date is in the future
    assert "on or after" in resp.get_json()["error"]["message"]
    assert move("cancelled").get_json()["status"] == "cancelled"
    assert move("published").status_code == 409  # final
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["event.published", "event.cancelled"]


def test_cancelling_cancels_live_bookings_through_the_queue(client, admin_h, place):
    from nibog.booking.models import Booking

    ev = create(client, admin_h, place)
    slot_id = ev["games"][0]["slots"][0]["id"]
    booking_id = book_seats(db.session.get(GameSlot, slot_id), ChildFactory())
    resp = client.put(f"/api/admin/events/{ev['id']}", json={"status": "cancelled"},
                      headers=admin_h)
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).status == "cancelled"
    assert db.session.get(GameSlot, slot_id).booked_count == 0


def test_completing_a_past_event_completes_its_bookings(client, admin_h, place):
    from nibog.booking.models import Booking

    ev = create(client, admin_h, place)
    slot_id = ev["games"][0]["slots"][0]["id"]
    booking_id = book_seats(db.session.get(GameSlot, slot_id), ChildFactory())
    db.session.execute(sa.update(Event).where(Event.id == ev["id"]).values(
        event_date=today_ist() - timedelta(days=1)))
    db.session.commit()
    resp = client.post(f"/api/admin/events/{ev['id']}/status", json={"status": "completed"},
                       headers=admin_h)
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).status == "completed"


def test_delete_guards(client, admin_h, place):
    ev = create(client, admin_h, place)
    book_seats(db.session.get(GameSlot, ev["games"][0]["slots"][0]["id"]), ChildFactory())
    resp = client.delete(f"/api/admin/events/{ev['id']}", headers=admin_h)
    assert resp.status_code == 409 and error_code(resp) == "event_has_bookings"
    city = client.delete(f"/api/admin/cities/{place['city_id']}", headers=admin_h)
    assert city.status_code == 409 and error_code(city) == "city_in_use"
    assert error_code(client.delete(f"/api/admin/venues/{place['venue_id']}", headers=admin_h)) \
        == "venue_in_use"
    assert error_code(client.delete(f"/api/admin/game-templates/{place['crawl']}",
                                    headers=admin_h)) == "game_template_in_use"
    db.session.expire_all()
    assert None not in (db.session.get(Event, ev["id"]), db.session.get(City, place["city_id"]),
                        db.session.get(Venue, place["venue_id"]),
                        db.session.get(GameTemplate, place["crawl"]))

    free = create(client, admin_h, place)
    assert client.delete(f"/api/admin/events/{free['id']}", headers=admin_h).status_code == 204
    assert client.get(f"/api/admin/events/{free['id']}", headers=admin_h).status_code == 404
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "event.delete")).before[
        "title"] == "NIBOG Hyderabad Winter Games"


def test_clone_to_a_new_date_as_draft(client, admin_h, place):
    ev = create(client, admin_h, place)
    slot_id = ev["games"][0]["slots"][0]["id"]
    book_seats(db.session.get(GameSlot, slot_id), ChildFactory())
    db.session.execute(sa.update(AddOnVariant).values(sold_count=4))
    db.session.commit()
    new_date = today_ist() + timedelta(days=90)
    resp = client.post(f"/api/admin/events/clone/{ev['id']}", json={"event_date": str(new_date)},
                       headers=admin_h)
    assert resp.status_code == 201, resp.get_json()
    copy = resp.get_json()
    assert copy["id"] != ev["id"] and copy["status"] == "draft"
    assert copy["event_date"] == str(new_date) and copy["slug"] != ev["slug"]
    assert [[(s["capacity"], s["seats_left"], s["price"]) for s in g["slots"]]
            for g in copy["games"]] == [[(20, 20, 50000), (10, 10, 45000)], [(5, 5, 60000)]]
    assert copy["addons"][0]["variants"][0]["stock_left"] == 50
    assert client.get(f"/api/events/{copy['id']}").status_code == 404  # drafts are not public


def test_roles(client, admin_h, staff_h, parent, place):
    from tests.helpers import auth_headers

    ev = create(client, admin_h, place)
    parent_h = auth_headers(parent)
    for method, url in (("get", "/api/admin/events"), ("get", f"/api/admin/events/{ev['id']}"),
                        ("post", "/api/admin/events"), ("put", f"/api/admin/events/{ev['id']}"),
                        ("delete", f"/api/admin/events/{ev['id']}")):
        assert getattr(client, method)(url, json={}).status_code == 401, url
        assert getattr(client, method)(url, json={}, headers=parent_h).status_code == 403, url
    assert client.get("/api/admin/events", headers=staff_h).get_json()["total"] == 1
    assert client.get(f"/api/admin/events/{ev['id']}", headers=staff_h).status_code == 200
    assert client.post("/api/admin/events", json=payload(place), headers=staff_h).status_code == 403
    assert client.post(f"/api/admin/events/clone/{ev['id']}", json={"event_date": "2031-01-01"},
                       headers=staff_h).status_code == 403


def test_addon_edits_respect_sales(client, admin_h, place):
    ev = create(client, admin_h, place)
    addon = ev["addons"][0]
    variant_id = addon["variants"][0]["id"]
    db.session.execute(sa.update(AddOnVariant).values(sold_count=8))
    db.session.commit()
    url = f"/api/admin/events/{ev['id']}"
    low = client.put(url, headers=admin_h, json={"addons": [
        {"id": addon["id"], "variants": [{"id": variant_id, "stock": 5}]}]})
    assert low.status_code == 409 and error_code(low) == "stock_below_sold"
    ok = client.put(url, headers=admin_h, json={"addons": [
        {"id": addon["id"], "price": 19900, "variants": [{"id": variant_id, "stock": 8}]}]})
    assert ok.get_json()["addons"][0]["variants"][0] == {
        "id": variant_id, "name": "S", "price": 19900, "stock_left": 0}
    removed = client.put(url, headers=admin_h, json={"addons": [{"id": addon["id"],
                                                                 "_delete": True}]})
    assert removed.status_code == 200 and removed.get_json()["addons"] == []


def test_admin_list_filters_and_unpublish_guard(client, admin_h, place):
    draft = create(client, admin_h, place, status="draft")
    live = create(client, admin_h, place, title="Summer Splash")
    page = client.get("/api/admin/events?status=draft", headers=admin_h).get_json()
    assert [e["id"] for e in page["items"]] == [draft["id"]]
    assert client.get("/api/admin/events?q=splash", headers=admin_h).get_json()["total"] == 1
    book_seats(db.session.get(GameSlot, live["games"][0]["slots"][0]["id"]), ChildFactory())
    resp = client.put(f"/api/admin/events/{live['id']}", json={"status": "draft"}, headers=admin_h)
    assert resp.status_code == 409 and error_code(resp) == "event_has_bookings"

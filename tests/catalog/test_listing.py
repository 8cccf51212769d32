"""GET /api/events: every filter and sort against a known data set, and pagination edges."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nibog.core.timeutil import today_ist
from tests.factories import (
    CityFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    VenueFactory,
)
from tests.helpers import error_code

ITEM_KEYS = {
    "id", "title", "slug", "city", "venue", "event_date", "start_time", "end_time", "image_url",
    "min_age_months", "max_age_months", "price_from", "seats_left", "is_featured", "status",
}


@pytest.fixture
def catalog(app):
    """Three visible events, plus a draft, a past and a cancelled one that must never show."""
    t = today_ist()
    hyd, blr = CityFactory(name="Hyderabad"), CityFactory(name="Bengaluru")
    v1, v2 = VenueFactory(city=hyd), VenueFactory(city=hyd)
    v3 = VenueFactory(city=blr)
    crawl = GameTemplateFactory(category="crawling", min_age_months=5, max_age_months=15,
                                default_price=50000)
    run = GameTemplateFactory(category="running", min_age_months=13, max_age_months=84,
                              default_price=90000)
    jump = GameTemplateFactory(category="jumping", min_age_months=37, max_age_months=84,
                               default_price=None)

    e1 = EventFactory(venue=v1, title="Hyderabad Winter Games", event_date=t + timedelta(days=10),
                      is_featured=True)
    g = EventGameFactory(event=e1, template=crawl)
    GameSlotFactory(event_game=g, capacity=10, price=40000)
    GameSlotFactory(event_game=g, capacity=10, price=None)  # falls back to template 50000

    e2 = EventFactory(venue=v2, title="Hyderabad Summer Sprint", event_date=t + timedelta(days=20))
    g = EventGameFactory(event=e2, template=run, price=120000)
    GameSlotFactory(event_game=g, capacity=5, booked_count=5)
    g = EventGameFactory(event=e2, template=jump, price=70000, min_age_months=40, max_age_months=60)
    GameSlotFactory(event_game=g, capacity=5, booked_count=2)

    e3 = EventFactory(venue=v3, title="Bengaluru Little Champions", event_date=t + timedelta(days=5))
    g = EventGameFactory(event=e3, template=run)
    GameSlotFactory(event_game=g, capacity=4, booked_count=4)

    hidden = []
    for status, days in (("draft", 15), ("published", -3), ("cancelled", 12)):
        ev = EventFactory(venue=v1, title=f"Hyderabad {status}", status=status,
                          event_date=t + timedelta(days=days))
        GameSlotFactory(event_game=EventGameFactory(event=ev, template=crawl))
        hidden.append(ev.id)
    return {"e1": e1.id, "e2": e2.id, "e3": e3.id, "hyd": hyd.id, "v3": v3.id,
            "past": hidden[1], "t": t}


def ids(client, query=""):
    resp = client.get(f"/api/events{query}")
    assert resp.status_code == 200, resp.get_json()
    return [item["id"] for item in resp.get_json()["items"]]


def test_default_lists_upcoming_published_by_date_with_contract_shape(client, catalog):
    body = client.get("/api/events").get_json()
    assert [i["id"] for i in body["items"]] == [catalog["e3"], catalog["e1"], catalog["e2"]]
    assert body["total"] == 3 and body["page"] == 1 and body["per_page"] == 20
    e1 = next(i for i in body["items"] if i["id"] == catalog["e1"])
    assert set(e1) == ITEM_KEYS
    assert e1["price_from"] == 40000
    assert (e1["min_age_months"], e1["max_age_months"], e1["seats_left"]) == (5, 15, 20)
    assert e1["city"]["name"] == "Hyderabad" and e1["status"] == "published"
    assert e1["start_time"] == "09:00" and e1["event_date"] == str(catalog["t"] + timedelta(days=10))
    e2 = next(i for i in body["items"] if i["id"] == catalog["e2"])
    # The game price beats the template's; age overrides widen/narrow per game.
    assert (e2["price_from"], e2["min_age_months"], e2["max_age_months"], e2["seats_left"]) == (
        70000, 13, 84, 3)


def test_place_filters(client, catalog):
    assert ids(client, f"?city_id={catalog['hyd']}") == [catalog["e1"], catalog["e2"]]
    assert ids(client, f"?venue_id={catalog['v3']}") == [catalog["e3"]]


def test_category_filter(client, catalog):
    assert ids(client, "?category=jumping") == [catalog["e2"]]
    assert ids(client, "?category=Running") == [catalog["e3"], catalog["e2"]]
    assert ids(client, "?category=swimming") == []


def test_date_filters_and_past_events(client, catalog):
    t = catalog["t"]
    assert ids(client, f"?date_from={t + timedelta(days=6)}&date_to={t + timedelta(days=15)}") == [
        catalog["e1"]]
    assert ids(client, f"?date_from={t - timedelta(days=10)}")[0] == catalog["past"]
    resp = client.get(f"/api/events?date_from={t}&date_to={t - timedelta(days=1)}")
    assert resp.status_code == 422 and "date_to" in resp.get_json()["error"]["details"]


def test_age_filter_checks_each_game_not_the_overall_span(client, catalog):
    assert ids(client, "?age_months=10") == [catalog["e1"]]
    assert ids(client, "?age_months=14") == [catalog["e3"], catalog["e1"], catalog["e2"]]
    assert ids(client, "?age_months=45") == [catalog["e3"], catalog["e2"]]
    assert ids(client, "?age_months=90") == []


def test_price_filters_use_price_from(client, catalog):
    assert ids(client, "?min_price=60000") == [catalog["e3"], catalog["e2"]]
    assert ids(client, "?max_price=50000") == [catalog["e1"]]
    assert ids(client, "?min_price=60000&max_price=80000") == [catalog["e2"]]
    assert client.get("/api/events?min_price=5&max_price=1").status_code == 422


def test_available_filter(client, catalog):
    assert ids(client, "?available=true") == [catalog["e1"], catalog["e2"]]
    assert ids(client, "?available=false") == [catalog["e3"]]


def test_text_search(client, catalog):
    assert ids(client, "?q=hyderabad") == [catalog["e1"], catalog["e2"]]
    assert ids(client, "?q=winter%20hyd") == [catalog["e1"]]
    assert ids(client, "?q=champ") == [catalog["e3"]]
    assert ids(client, "?q=%27%3B--") == [catalog["e3"], catalog["e1"], catalog["e2"]]


def test_sorts(client, catalog):
    e1, e2, e3 = catalog["e1"], catalog["e2"], catalog["e3"]
    assert ids(client, "?sort=date") == [e3, e1, e2]
    assert ids(client, "?sort=-date") == [e2, e1, e3]
    assert ids(client, "?sort=price") == [e1, e2, e3]
    assert ids(client, "?sort=popularity") == [e2, e3, e1]  # 7, 4 and 0 seats taken
    assert error_code(client.get("/api/events?sort=cheapest")) == "validation_error"


def test_filters_combine(client, catalog):
    assert ids(client, f"?city_id={catalog['hyd']}&available=true&age_months=45") == [catalog["e2"]]


def test_pagination_edges(client, catalog):
    first = client.get("/api/events?per_page=2").get_json()
    assert len(first["items"]) == 2 and first["pages"] == 2 and first["total"] == 3
    second = client.get("/api/events?per_page=2&page=2").get_json()
    assert [i["id"] for i in second["items"]] == [catalog["e2"]]
    beyond = client.get("/api/events?per_page=2&page=9")
    assert beyond.status_code == 200
    assert beyond.get_json()["items"] == [] and beyond.get_json()["total"] == 3
    assert client.get("/api/events?per_page=100").status_code == 200
    for bad in ("per_page=101", "per_page=0", "page=0", "page=abc", "page=1000000000000000000"):
        resp = client.get(f"/api/events?{bad}")
        assert resp.status_code == 422, bad
        assert error_code(resp) == "validation_error"


def test_featured_upcoming_and_lookups(client, catalog):
    featured = client.get("/api/events/featured").get_json()
    assert [e["id"] for e in featured] == [catalog["e1"]]
    upcoming = client.get("/api/events/upcoming?limit=2").get_json()
    assert [e["id"] for e in upcoming] == [catalog["e3"], catalog["e1"]]
    cities = client.get("/api/events/cities").get_json()
    assert {c["name"]: c["event_count"] for c in cities} == {"Bengaluru": 1, "Hyderabad": 2}
    cats = client.get("/api/events/categories").get_json()
    assert {c["name"]: c["event_count"] for c in cats} == {
        "crawling": 1, "running": 2, "jumping": 1}
    venues = client.get(f"/api/events/venues?city_id={catalog['hyd']}").get_json()
    assert len(venues) == 2 and all(v["city"]["name"] == "Hyderabad" for v in venues)
    ranges = client.get("/api/events/age-ranges").get_json()
    assert ranges[0] == {"label": "5-12 months", "min_age_months": 5, "max_age_months": 12}

"""Admin cities, venues, game templates, gallery and event FAQs: CRUD, guards, roles, audit."""

from __future__ import annotations

import sqlalchemy as sa

from nibog.catalog.models import GameTemplate, Venue
from nibog.core.audit import AuditLog
from nibog.extensions import db
from tests.factories import EventFactory, EventGameFactory, GameSlotFactory, VenueFactory
from tests.helpers import auth_headers, error_code


def test_city_crud_and_guards(client, admin_h):
    resp = client.post("/api/admin/cities", json={"name": "Hyderabad", "state": "Telangana"},
                       headers=admin_h)
    assert resp.status_code == 201
    city = resp.get_json()
    assert city["slug"].startswith("hyderabad-") and city["is_active"] is True
    dup = client.post("/api/admin/cities", json={"name": "hyderabad", "state": "Telangana"},
                      headers=admin_h)
    assert dup.status_code == 409 and error_code(dup) == "city_exists"
    assert client.post("/api/admin/cities", json={"state": "X"}, headers=admin_h).status_code == 422
    upd = client.put(f"/api/admin/cities/{city['id']}", json={"is_active": False}, headers=admin_h)
    assert upd.get_json()["is_active"] is False
    page = client.get("/api/admin/cities?is_active=false", headers=admin_h).get_json()
    assert page["total"] == 1

    venue = client.post("/api/admin/venues", headers=admin_h, json={
        "city_id": city["id"], "name": "Gachibowli Stadium", "address": "Gachibowli",
        "latitude": 17.44, "longitude": 78.34}).get_json()
    assert venue["city"]["id"] == city["id"]
    resp = client.delete(f"/api/admin/cities/{city['id']}", headers=admin_h)
    assert resp.status_code == 409 and error_code(resp) == "city_in_use"
    assert client.delete(f"/api/admin/venues/{venue['id']}", headers=admin_h).status_code == 204
    assert client.delete(f"/api/admin/cities/{city['id']}", headers=admin_h).status_code == 204
    assert client.get(f"/api/admin/cities/{city['id']}", headers=admin_h).status_code == 404
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["city.create", "city.update", "venue.create", "venue.delete", "city.delete"]
    update = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "city.update"))
    assert update.before["is_active"] is True and update.after["is_active"] is False
    assert update.actor_id is not None


def test_venues_by_city_and_validation(client, admin_h, staff_h):
    a, b = VenueFactory(), VenueFactory()
    listed = client.get(f"/api/admin/venues/by-city/{a.city_id}", headers=staff_h).get_json()
    assert [v["id"] for v in listed] == [a.id]
    assert client.get("/api/admin/venues/by-city/99999", headers=staff_h).status_code == 404
    bad = client.post("/api/admin/venues", json={"city_id": 99999, "name": "X"}, headers=admin_h)
    assert bad.status_code == 422 and "city_id" in bad.get_json()["error"]["details"]
    assert client.get(f"/api/admin/venues?city_id={b.city_id}", headers=staff_h).get_json()[
        "total"] == 1
    EventFactory(venue=a)
    city_before = a.city_id
    moved = client.put(f"/api/admin/venues/{a.id}", json={"city_id": b.city_id}, headers=admin_h)
    assert moved.status_code == 409 and error_code(moved) == "venue_in_use"
    db.session.expire_all()
    assert db.session.get(Venue, a.id).city_id == city_before


def test_game_templates(client, admin_h):
    body = {"name": "Baby Crawling", "category": "Crawling", "min_age_months": 5,
            "max_age_months": 15, "duration_minutes": 60, "default_price": 79900}
    resp = client.post("/api/admin/game-templates", json=body, headers=admin_h)
    assert resp.status_code == 201
    tpl = resp.get_json()
    assert tpl["category"] == "crawling"  # stored lower-case for the indexed filter
    bad = client.post("/api/admin/game-templates", headers=admin_h,
                      json={**body, "name": "Other", "min_age_months": 20})
    assert bad.status_code == 422 and "max_age_months" in bad.get_json()["error"]["details"]
    assert error_code(client.post("/api/admin/game-templates", json=body, headers=admin_h)) == \
        "game_template_exists"
    bad_update = client.put(f"/api/admin/game-templates/{tpl['id']}", json={"max_age_months": 2},
                            headers=admin_h)
    assert bad_update.status_code == 422 and error_code(bad_update) == "validation_error"
    db.session.expire_all()
    assert db.session.get(GameTemplate, tpl["id"]).max_age_months == 15
    assert client.get("/api/admin/game-templates?category=crawling", headers=admin_h).get_json()[
        "total"] == 1
    assert client.delete(f"/api/admin/game-templates/{tpl['id']}", headers=admin_h).status_code == 204


def test_template_ages_cannot_leave_a_game_without_an_age_band(client, admin_h):
    """A game overriding only its minimum (40 months) takes its maximum from the template:
    lowering the template's maximum to 30 would leave that game 40-30, bookable by nobody."""
    from tests.factories import GameTemplateFactory

    template = GameTemplateFactory(min_age_months=13, max_age_months=84)
    EventGameFactory(template=template, min_age_months=40, max_age_months=None)
    db.session.commit()
    resp = client.put(f"/api/admin/game-templates/{template.id}", json={"max_age_months": 30},
                      headers=admin_h)
    assert resp.status_code == 422 and "max_age_months" in resp.get_json()["error"]["details"]
    ok = client.put(f"/api/admin/game-templates/{template.id}", json={"max_age_months": 60},
                    headers=admin_h)
    assert ok.status_code == 200
    # A game of an event long past sells nothing: its old override does not block a change.
    from datetime import timedelta

    from nibog.core.timeutil import today_ist

    old = EventGameFactory(template=template, min_age_months=50, max_age_months=None,
                           event=EventFactory(event_date=today_ist() - timedelta(days=400)))
    assert old.id
    db.session.commit()
    later = client.put(f"/api/admin/game-templates/{template.id}", json={"max_age_months": 45},
                       headers=admin_h)
    assert later.status_code == 200, later.get_json()


def test_gallery_and_event_faqs(client, admin_h):
    event = EventFactory()
    GameSlotFactory(event_game=EventGameFactory(event=event))
    base = f"/api/admin/events/{event.id}"
    img = client.post(f"{base}/gallery", json={"image_url": "https://img/a.jpg",
                                               "caption": "Start"}, headers=admin_h)
    assert img.status_code == 201
    faq = client.post(f"{base}/faqs", json={"question": "Food?", "answer": "Yes"}, headers=admin_h)
    assert faq.status_code == 201
    detail = client.get(f"/api/events/{event.id}").get_json()
    assert detail["gallery"][0]["caption"] == "Start" and detail["faqs"][0]["answer"] == "Yes"
    client.put(f"{base}/faqs/{faq.get_json()['id']}", json={"answer": "Veg only"}, headers=admin_h)
    assert client.get(f"/api/events/{event.id}").get_json()["faqs"][0]["answer"] == "Veg only"
    other = EventFactory()
    assert client.delete(f"/api/admin/events/{other.id}/gallery/{img.get_json()['id']}",
                         headers=admin_h).status_code == 404
    assert client.delete(f"{base}/gallery/{img.get_json()['id']}", headers=admin_h).status_code == 204
    assert client.get(f"/api/events/{event.id}").get_json()["gallery"] == []
    assert client.post(f"{base}/gallery", json={}, headers=admin_h).status_code == 422


def test_roles_on_places(client, staff_h, parent, admin_h):
    parent_h = auth_headers(parent)
    venue = VenueFactory()
    for url in ("/api/admin/cities", "/api/admin/venues", "/api/admin/game-templates",
                f"/api/admin/venues/by-city/{venue.city_id}"):
        assert client.get(url).status_code == 401
        assert client.get(url, headers=parent_h).status_code == 403
        assert client.get(url, headers=staff_h).status_code == 200
    for url, body in (("/api/admin/cities", {"name": "X", "state": "Y"}),
                      ("/api/admin/venues", {"city_id": venue.city_id, "name": "V"}),
                      ("/api/admin/game-templates", {"name": "G", "min_age_months": 1,
                                                     "max_age_months": 2, "duration_minutes": 5})):
        assert client.post(url, json=body).status_code == 401
        assert client.post(url, json=body, headers=parent_h).status_code == 403
        assert client.post(url, json=body, headers=staff_h).status_code == 403
        assert client.post(url, json=body, headers=admin_h).status_code == 201
    assert client.delete(f"/api/admin/venues/{venue.id}", headers=staff_h).status_code == 403

"""Catalog caching on real Redis: listings and details are cached, admin writes invalidate them,
seat counts stay live, and without Redis a per-process memory cache takes over."""

from __future__ import annotations

import pytest
import redis as redis_lib
import sqlalchemy as sa

from nibog import create_app
from nibog.catalog.models import Event, GameSlot
from nibog.extensions import db
from tests.factories import EventGameFactory, GameSlotFactory


@pytest.fixture
def long_ttl(app, monkeypatch):
    # A long TTL makes "still cached" observable without sleeping.
    monkeypatch.setitem(app.config, "CATALOG_LIST_CACHE_SECONDS", 600)
    monkeypatch.setitem(app.config, "CATALOG_DETAIL_CACHE_SECONDS", 600)


@pytest.fixture
def event(app):
    game = EventGameFactory(event__title="Original Title")
    slot = GameSlotFactory(event_game=game, capacity=10)
    return {"id": game.event_id, "game": game.id, "slot": slot.id}


def _rename_behind_the_caches_back(event_id, title):
    db.session.execute(sa.update(Event).where(Event.id == event_id).values(title=title))
    db.session.commit()


def titles(client):
    return [e["title"] for e in client.get("/api/events").get_json()["items"]]


def test_listing_is_cached_and_admin_writes_invalidate_it(client, admin_h, event, long_ttl):
    assert titles(client) == ["Original Title"]
    _rename_behind_the_caches_back(event["id"], "Sneaky")
    assert titles(client) == ["Original Title"]  # proof the cache answers
    resp = client.put(f"/api/admin/events/{event['id']}", json={"title": "Admin Title"},
                      headers=admin_h)
    assert resp.status_code == 200
    assert titles(client) == ["Admin Title"]


def test_detail_is_cached_and_invalidated_but_seats_stay_live(client, admin_h, event, long_ttl):
    url = f"/api/events/{event['id']}"
    assert client.get(url).get_json()["title"] == "Original Title"
    _rename_behind_the_caches_back(event["id"], "Sneaky")
    db.session.execute(sa.update(GameSlot).values(booked_count=4))
    db.session.commit()
    cached = client.get(url).get_json()
    assert cached["title"] == "Original Title"
    assert cached["games"][0]["slots"][0]["seats_left"] == 6  # live, not from the cache
    client.post(f"/api/admin/events/{event['id']}/gallery", json={"image_url": "https://i/1.jpg"},
                headers=admin_h)
    fresh = client.get(url).get_json()
    assert fresh["title"] == "Sneaky" and len(fresh["gallery"]) == 1


def test_every_kind_of_admin_write_invalidates(client, admin_h, event, long_ttl):
    url = f"/api/events/{event['id']}"
    client.get(url)
    client.put(f"/api/admin/events/{event['id']}", headers=admin_h, json={"games": [
        {"id": event["game"], "price": 12345}]})
    assert client.get(url).get_json()["games"][0]["price"] == 12345
    venue_id = db.session.get(Event, event["id"]).venue_id
    client.put(f"/api/admin/venues/{venue_id}", json={"name": "New Hall"}, headers=admin_h)
    assert client.get(url).get_json()["venue"]["name"] == "New Hall"
    assert client.get("/api/events").get_json()["items"][0]["venue"]["name"] == "New Hall"


def test_failed_admin_write_changes_nothing_cached(client, admin_h, event, long_ttl):
    client.get("/api/events")
    bad = client.put(f"/api/admin/events/{event['id']}", json={"title": "X", "end_time": "01:00"},
                     headers=admin_h)
    assert bad.status_code == 422
    assert titles(client) == ["Original Title"]
    assert db.session.get(Event, event["id"]).title == "Original Title"


def test_listing_entries_live_only_a_few_seconds(client, app, event):
    client.get("/api/events")
    conn = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    keys = [k for k in conn.keys("nibog:cache:catalog:*") if b":events:" in k]
    assert len(keys) == 1
    assert 0 < conn.pttl(keys[0]) <= 3000


def test_memory_fallback_without_redis(app, event):
    local = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "REDIS_URL": None, "CATALOG_LIST_CACHE_SECONDS": 600})
    with local.app_context():
        from nibog.catalog import cache as catalog_cache

        client = local.test_client()
        assert titles(client) == ["Original Title"]
        _rename_behind_the_caches_back(event["id"], "Changed")
        assert titles(client) == ["Original Title"]
        catalog_cache.invalidate_catalog()
        db.session.commit()
        assert titles(client) == ["Changed"]
        db.session.remove()
        db.engine.dispose()

"""The one-second per-process cache of anonymous catalog answers."""

from __future__ import annotations

import pytest

from tests.factories import EventFactory, UserFactory
from tests.helpers import auth_headers


@pytest.fixture
def microcache_on(app):
    # Long enough that expiry never interferes; the Redis layer below off, so what stays stale
    # is this cache's doing.
    keys = ("CATALOG_MICROCACHE_SECONDS", "CATALOG_DETAIL_CACHE_SECONDS")
    saved = {k: app.config[k] for k in keys}
    app.config.update(CATALOG_MICROCACHE_SECONDS=30, CATALOG_DETAIL_CACHE_SECONDS=0)
    yield
    app.config.update(saved)


def test_anonymous_repeat_is_served_from_memory_until_an_admin_write(client, db, microcache_on):
    event = EventFactory(title="Original title")
    first = client.get(f"/api/events/{event.id}").get_json()
    assert first["title"] == "Original title"

    # Changed behind the app's back (no admin write, no invalidation): the cached answer stays.
    event.title = "Changed quietly"
    db.session.commit()
    assert client.get(f"/api/events/{event.id}").get_json()["title"] == "Original title"
    # A signed-in request is never served from it.
    user = UserFactory()
    fresh = client.get(f"/api/events/{event.id}", headers=auth_headers(user)).get_json()
    assert fresh["title"] == "Changed quietly"

    # An admin write bumps the catalog version: the very next anonymous read is fresh.
    admin = UserFactory(role="admin")
    resp = client.put(f"/api/admin/events/{event.id}", headers=auth_headers(admin),
                      json={"title": "Renamed by admin"})
    assert resp.status_code == 200, resp.get_json()
    assert client.get(f"/api/events/{event.id}").get_json()["title"] == "Renamed by admin"


def test_errors_are_not_cached(client, db, microcache_on):
    assert client.get("/api/events/999999").status_code == 404
    event = EventFactory()
    assert client.get(f"/api/events/{event.id}").status_code == 200


def test_another_process_admin_write_is_seen_within_the_version_recheck(client, db, microcache_on,
                                                                        monkeypatch):
    import time

    from nibog.catalog import microcache
    from nibog.core import cache as core_cache
    from nibog.extensions import get_redis

    event = EventFactory(title="Original title")
    assert client.get(f"/api/events/{event.id}").get_json()["title"] == "Original title"
    event.title = "Renamed elsewhere"
    db.session.commit()
    # Another web process's admin write: the Redis version moves, this process's bump count not.
    get_redis().incr(f"{core_cache._PREFIX}v:{microcache.NAMESPACE}")
    monkeypatch.setattr(microcache, "VERSION_RECHECK_SECONDS", 0.2)
    time.sleep(0.25)
    assert client.get(f"/api/events/{event.id}").get_json()["title"] == "Renamed elsewhere"


def test_a_url_asked_for_all_the_time_still_expires(client, db, microcache_on, monkeypatch):
    """A hit must not store itself again: with a request every few tenths of a second the
    answer would otherwise never expire, and a change the catalog version does not cover
    (registration closing at its time, a change made behind the app's back) never show."""
    from nibog.catalog import microcache

    clock = [1000.0]
    monkeypatch.setattr(microcache._answers, "clock", lambda: clock[0])
    event = EventFactory(title="Original title")
    assert client.get(f"/api/events/{event.id}").get_json()["title"] == "Original title"
    event.title = "Changed quietly"
    db.session.commit()
    for _ in range(4):  # hits every 10 s, each inside the 30 s lifetime of the one before
        clock[0] += 10
        client.get(f"/api/events/{event.id}")
    assert client.get(f"/api/events/{event.id}").get_json()["title"] == "Changed quietly"

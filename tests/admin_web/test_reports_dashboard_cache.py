"""The overview's all-time charts are a snapshot up to ADMIN_STATS_CACHE_SECONDS old
(bench/admin_bench.py: with 100k bookings they are most of the page's time; the worker refreshes
it, tests/admin_web/test_dashboard_snapshot.py); the tiles stay live."""

from __future__ import annotations

import pytest

from nibog.admin import stats
from tests.booking.world import make_world
from tests.factories import make_booking, pay


@pytest.fixture
def cache_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "ADMIN_STATS_CACHE_SECONDS", 60)


def test_all_time_charts_are_kept_a_minute_and_the_tiles_are_not(app, cache_on):
    world = make_world(n_children=2)
    pay(make_booking(world.parent, [(world.children[0], world.slots[0])], price=50000))
    first = stats.overview()
    assert first["by_city"][0][1] == 50000 and first["totals"]["revenue_total"] == 50000
    pay(make_booking(world.parent, [(world.children[1], world.slots[0])], price=30000))
    second = stats.overview()
    assert second["by_city"] == first["by_city"]  # served from the cache
    assert second["totals"]["revenue_total"] == 80000  # live
    assert second["by_event"][0]["event_date"] == world.event.event_date  # dates come back


def test_without_the_cache_every_view_recomputes(app):
    assert app.config["ADMIN_STATS_CACHE_SECONDS"] == 0
    world = make_world(n_children=2)
    pay(make_booking(world.parent, [(world.children[0], world.slots[0])], price=50000))
    assert stats.overview()["by_city"][0][1] == 50000
    pay(make_booking(world.parent, [(world.children[1], world.slots[0])], price=30000))
    assert stats.overview()["by_city"][0][1] == 80000

"""Query shape: bounded SQL statements (no N+1), index use per listing filter, read replica."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from nibog import create_app
from nibog.catalog import queries as q
from nibog.core.timeutil import today_ist
from nibog.extensions import db
from tests.factories import (
    AddOnFactory,
    AddOnVariantFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    VenueFactory,
)


@contextmanager
def count_statements(engine):
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        # A rollback-mode test's session wraps each unit of work in a SAVEPOINT; the app's reads
        # counted here use none of their own.
        if not statement.startswith(("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def no_cache(app, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_ENABLED", False)


def _events(n: int, games: int = 2, slots: int = 2) -> None:
    venue = VenueFactory()
    template = GameTemplateFactory()
    for i in range(n):
        ev = EventFactory(venue=venue, event_date=today_ist() + timedelta(days=1 + i % 30))
        for _ in range(games):
            game = EventGameFactory(event=ev, template=template)
            for _ in range(slots):
                GameSlotFactory(event_game=game)
        AddOnVariantFactory(addon=AddOnFactory(event=ev))


def _listing_statements(client, per_page: int) -> list[str]:
    with count_statements(db.engine) as statements:
        resp = client.get(f"/api/events?per_page={per_page}&age_months=20&available=true")
    assert resp.status_code == 200
    assert len(resp.get_json()["items"]) == per_page
    return statements


def test_listing_statement_count_does_not_grow_with_events(client, no_cache):
    _events(5)
    small = _listing_statements(client, 5)
    _events(45)
    large = _listing_statements(client, 50)
    assert len(large) == len(small) <= 2, large


def test_detail_statement_count_does_not_grow_with_games(client, no_cache):
    _events(1, games=1, slots=1)
    _events(1, games=10, slots=5)
    counts = []
    for event_id in (1, 2):
        with count_statements(db.engine) as statements:
            body = client.get(f"/api/events/{event_id}").get_json()
        assert "games" in body
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 10, counts


def test_cached_detail_reads_only_live_numbers(client):
    _events(1, games=3, slots=3)
    client.get("/api/events/1")
    with count_statements(db.engine) as statements:
        client.get("/api/events/1")
    assert len(statements) == 2  # live seats and live stock; the rest comes from Redis


# -- index use -------------------------------------------------------------------------------


def _load_realistic_catalog() -> None:
    """Thousands of rows so the planner's choices mean something, then ANALYZE."""
    statements = [
        "INSERT INTO cities (name, state, slug) SELECT 'City ' || i, 'State', 'city-' || i "
        "FROM generate_series(1, 40) i",
        "INSERT INTO venues (city_id, name) SELECT 1 + i % 40, 'Venue ' || i "
        "FROM generate_series(1, 200) i",
        "INSERT INTO game_templates (name, category, min_age_months, max_age_months, "
        "default_price) SELECT 'Game ' || i, 'cat' || (i % 20), i % 24, 24 + i % 60, 10000 * i "
        "FROM generate_series(1, 40) i",
        "INSERT INTO events (title, slug, description, city_id, venue_id, event_date, start_time, "
        "end_time, status, is_featured) SELECT 'Event ' || i || ' ' || md5(i::text), 'ev-' || i, "
        "'', 1 + (i % 200) % 40, 1 + i % 200, current_date + (i % 1000) - 300, '09:00', '17:00', "
        "CASE WHEN i % 10 < 7 THEN 'published' ELSE 'draft' END, i % 100 = 0 "
        "FROM generate_series(0, 19999) i",
        "INSERT INTO event_games (event_id, game_template_id) SELECT e.id, 1 + (e.id * k) % 40 "
        "FROM events e, generate_series(1, 3) k",
        "INSERT INTO game_slots (event_game_id, start_time, end_time, capacity, booked_count) "
        "SELECT g.id, '10:00', '11:00', 20, (g.id * k) % 21 FROM event_games g, "
        "generate_series(1, 2) k",
        "ANALYZE",
    ]
    with db.engine.begin() as conn:
        for sql in statements:
            conn.execute(sa.text(sql))


INDEX_FILTERS = {
    # filter: (EventFilters, indexes at least one of which must appear in the plan)
    "default (published, from today)": ({}, {"ix_events_status_date"}),
    "city_id": ({"city_id": 7}, {"ix_events_city_status_date"}),
    "venue_id": ({"venue_id": 7}, {"ix_events_venue_id"}),
    "date_from/date_to": ({"date_to": 30}, {"ix_events_status_date"}),
    "q": ({"q": "event 1234"}, {"ix_events_search"}),
    "featured": ({"featured": True}, {"ix_events_featured_date"}),
    # A category covers many templates, so PostgreSQL probes each candidate event's games by
    # event id; with a rare category it starts from the category index instead.
    "category": ({"category": "cat3"}, {"ix_game_templates_category",
                                        "ix_event_games_game_template_id",
                                        "ix_event_games_event_id"}),
    "age_months": ({"age_months": 20}, {"ix_event_games_event_id"}),
    "min_price/max_price": ({"min_price": 100000, "max_price": 200000},
                            {"ix_event_games_event_id"}),
    "available": ({"available": True}, {"ix_game_slots_event_game_id"}),
}


def explain_listing(filters: dict, sort: str = "date") -> str:
    args = dict(filters)
    args.setdefault("date_from", today_ist())
    if "date_to" in args:
        args["date_to"] = today_ist() + timedelta(days=args["date_to"])
    _, stmt = q.listing_statement(q.EventFilters(**args), sort, "postgresql")
    sql = stmt.limit(20).compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    with db.engine.connect() as conn:
        return "\n".join(r[0] for r in conn.execute(sa.text(f"EXPLAIN {sql}")))


@pytest.mark.commits  # loads 20 000 events on a connection of its own
def test_every_listing_filter_uses_an_index(app):
    _load_realistic_catalog()
    for name, (filters, indexes) in INDEX_FILTERS.items():
        plan = explain_listing(filters)
        if os.environ.get("CATALOG_PRINT_PLANS"):
            print(f"\n### {name}\n```\n{plan}\n```")
        assert any(ix in plan for ix in indexes), f"{name}: none of {indexes} in\n{plan}"
        assert "Seq Scan on events" not in plan, f"{name}:\n{plan}"


# -- read replica ----------------------------------------------------------------------------


@pytest.mark.commits  # the replica is another engine: it reads committed rows only
def test_public_reads_go_to_the_replica_and_admin_reads_to_the_primary(app):
    from tests.factories import UserFactory
    from tests.helpers import auth_headers

    _events(2)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    replica_app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "DATABASE_REPLICA_URL": url,
        "REDIS_URL": app.config["REDIS_URL"], "CATALOG_CACHE_ENABLED": False,
    })
    with replica_app.app_context():
        client = replica_app.test_client()
        client.get("/api/events")  # creates the replica engine
        replica = q.replica_engine()
        assert replica is not None and replica is not db.engine
        with count_statements(db.engine) as primary_sql, count_statements(replica) as replica_sql:
            assert client.get("/api/events").get_json()["total"] == 2
            assert client.get("/api/events/1").status_code == 200
            assert client.get("/api/events/1/slots").status_code == 200
        assert primary_sql == [] and len(replica_sql) >= 5
        headers = auth_headers(UserFactory(role="admin"))
        with count_statements(db.engine) as primary_sql, count_statements(replica) as replica_sql:
            assert client.get("/api/admin/events/1", headers=headers).status_code == 200
        assert replica_sql == [] and primary_sql
        db.session.remove()
        q.close_read_session()
        replica.dispose()
        db.engine.dispose()

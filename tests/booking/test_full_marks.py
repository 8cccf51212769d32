"""The full-slot shortcut (a Redis mark, then an unlocked read) must never refuse a free seat.

Each test fills a slot, gets a ``slot_full`` answer (which marks the slot), frees a seat one of
the ways the product frees seats, and expects the very next request to get that seat.
"""

from __future__ import annotations

from datetime import timedelta

from nibog.booking.fastpath import full_marks
from nibog.booking.service import expire_holds
from nibog.catalog.models import GameSlot
from nibog.core.timeutil import utcnow
from nibog.extensions import db, get_redis
from tests.booking.world import make_world
from tests.factories import ChildFactory, UserFactory, birth_date_for_age
from tests.helpers import auth_headers, error_code


def _attempt(client, w, parent, child, slot=None):
    return client.post("/api/bookings", headers=auth_headers(parent), json={
        "event_id": w.event.id, "items": [{"child_id": child.id, "slot_id": (slot or w.slots[0]).id}],
    })


def _full_world(client):
    """A one-seat slot held by the first parent; a second parent was turned away."""
    w = make_world(capacity=1)
    first = _attempt(client, w, w.parent, w.children[0])
    assert first.status_code == 201
    other = UserFactory()
    kid = ChildFactory(parent=other, date_of_birth=birth_date_for_age(24, w.event.event_date))
    db.session.commit()
    turned_away = _attempt(client, w, other, kid)
    assert turned_away.status_code == 409 and error_code(turned_away) == "slot_full"
    # The slot's event, and the child holding its seat.
    assert get_redis().get(f"slot-full:{w.slots[0].id}") == f"{w.event.id}:{w.children[0].id}".encode()
    return w, first.get_json()["booking"], other, kid


def test_a_full_slot_is_answered_from_its_mark_without_the_database(client, monkeypatch):
    w, _, other, kid = _full_world(client)

    def no_db(*a, **kw):
        raise AssertionError("the database was read")

    # From here the mark alone must answer: the database is not asked.
    monkeypatch.setattr(db.session, "execute", no_db)
    resp = _attempt(client, w, other, kid)
    assert resp.status_code == 409 and error_code(resp) == "slot_full"
    assert resp.get_json()["error"]["details"]["slot_ids"] == [w.slots[0].id]


def test_seat_freed_by_a_cancellation_is_bookable_at_once(client):
    w, held, other, kid = _full_world(client)
    resp = client.put(f"/api/bookings/{held['id']}/cancel", json={}, headers=auth_headers(w.parent))
    assert resp.status_code == 200
    assert _attempt(client, w, other, kid).status_code == 201


def test_seat_freed_by_an_expired_hold_is_bookable_at_once(client, app):
    w, _, other, kid = _full_world(client)
    assert expire_holds(now=utcnow() + timedelta(seconds=app.config["BOOKING_HOLD_SECONDS"] + 1)) == 1
    assert _attempt(client, w, other, kid).status_code == 201


def test_seat_added_by_raising_capacity_is_bookable_at_once(client):
    w, _, other, kid = _full_world(client)
    slot = db.session.get(GameSlot, w.slots[0].id)
    slot.capacity = 2
    db.session.commit()
    assert _attempt(client, w, other, kid).status_code == 201


def test_a_mark_does_not_answer_for_another_event(client):
    w, _, other, kid = _full_world(client)
    elsewhere = make_world()
    resp = client.post("/api/bookings", headers=auth_headers(other), json={
        "event_id": elsewhere.event.id, "items": [{"child_id": kid.id, "slot_id": w.slots[0].id}],
    })
    # The slot is not in that event: refused for that reason, not from the mark.
    assert resp.status_code == 422 and error_code(resp) == "validation_error"


def test_marks_expire_on_their_own(client):
    w, *_ = _full_world(client)
    ttl = get_redis().ttl(f"slot-full:{w.slots[0].id}")
    assert 0 < ttl <= full_marks.FULL_MARK_SECONDS


def test_a_cancellation_commits_when_redis_is_down(client, app):
    """The mark is a shortcut: Redis gone must not keep a seat taken (the mark expires)."""
    import logging

    import redis as redis_lib

    from nibog.booking.models import Booking
    from nibog.booking.service import cancel_booking
    from nibog.core import boundary

    w, held, *_ = _full_world(client)
    warnings: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: warnings.append(record.getMessage())
    full_marks.log.addHandler(handler)
    # The migrations' logging set-up (fileConfig) disables loggers that existed before it.
    was_disabled, full_marks.log.disabled = full_marks.log.disabled, False
    live = app.extensions["nibog_redis"]
    # A real client for a port nothing listens on: every command fails to connect.
    app.extensions["nibog_redis"] = redis_lib.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2
    )
    try:
        boundary.run_unit(cancel_booking, held["id"], actor_id=w.parent.id, reason="plans changed")
    finally:
        app.extensions["nibog_redis"] = live
        full_marks.log.removeHandler(handler)
        full_marks.log.disabled = was_disabled
    db.session.expire_all()
    assert db.session.get(Booking, held["id"]).status == "cancelled"
    assert db.session.get(GameSlot, w.slots[0].id).booked_count == 0
    assert any("not deleted" in message for message in warnings)


def test_a_parent_repeating_their_own_request_hears_already_booked_not_slot_full(client, app):
    """A retry after a timeout, in a burst: the slot is full with this child's own seat. The
    answer must name the booking to pay, from the gate and from the view alike."""
    w, held, *_ = _full_world(client)
    for gate in (True, False):
        app.config["FULL_SLOT_GATE"] = gate
        try:
            resp = _attempt(client, w, w.parent, w.children[0])
        finally:
            app.config["FULL_SLOT_GATE"] = True
        assert resp.status_code == 409 and error_code(resp) == "already_booked", (gate, resp.json)
        assert resp.get_json()["error"]["details"]["items"] == [
            {"child_id": w.children[0].id, "slot_id": w.slots[0].id, "booking_id": held["id"]}
        ]
    # The mark is still there and still answers everyone else.
    assert get_redis().get(f"slot-full:{w.slots[0].id}") is not None
    other = UserFactory()
    kid = ChildFactory(parent=other, date_of_birth=birth_date_for_age(24, w.event.event_date))
    db.session.commit()
    assert error_code(_attempt(client, w, other, kid)) == "slot_full"

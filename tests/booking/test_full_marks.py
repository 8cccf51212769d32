"""The full-slot shortcut (a Redis mark, then an unlocked read) must never refuse a free seat.

Each test fills a slot, gets a ``slot_full`` answer (which marks the slot), frees a seat one of
the ways the product frees seats, and expects the very next request to get that seat.
"""

from __future__ import annotations

from datetime import timedelta

from nibog.booking import holds
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
    assert error_code(resp) != "slot_full"


def test_marks_expire_on_their_own(client):
    w, *_ = _full_world(client)
    ttl = get_redis().ttl(f"slot-full:{w.slots[0].id}")
    assert 0 < ttl <= holds.FULL_MARK_SECONDS


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

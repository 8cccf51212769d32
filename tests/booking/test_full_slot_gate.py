"""The full-slot gate answers a marked slot before Flask, exactly as the view would; every other
request (and any it has a doubt about) still gets the view's own answer."""

from __future__ import annotations

import pytest
from flask import request_started

from nibog.extensions import db
from tests.booking.test_full_marks import _attempt, _full_world
from tests.booking.world import make_world
from tests.factories import UserFactory
from tests.helpers import auth_headers, error_code


@pytest.fixture
def view_calls(app):
    """How many requests reached Flask's dispatch (the gate's answers never do)."""
    seen = []

    def count(sender, **_extra):
        seen.append(1)

    request_started.connect(count, app)
    yield seen
    request_started.disconnect(count, app)


def _same_answer(gated, viewed):
    assert gated.status_code == viewed.status_code
    assert gated.get_json() == viewed.get_json()
    assert gated.headers["Content-Type"] == viewed.headers["Content-Type"]
    assert set(gated.headers.keys()) == set(viewed.headers.keys())


def test_a_marked_slot_gets_the_views_answer_without_the_view(client, app, view_calls):
    w, _, other, kid = _full_world(client)
    before = len(view_calls)
    gated = _attempt(client, w, other, kid)
    assert len(view_calls) == before, "the gate answered, Flask never dispatched"
    assert gated.status_code == 409 and error_code(gated) == "slot_full"
    assert gated.get_json()["error"]["details"] == {"slot_ids": [w.slots[0].id]}
    assert len(gated.headers["X-Request-ID"]) == 32

    app.config["FULL_SLOT_GATE"] = False
    try:
        viewed = _attempt(client, w, other, kid)
    finally:
        app.config["FULL_SLOT_GATE"] = True
    assert len(view_calls) == before + 1
    _same_answer(gated, viewed)


def test_a_safe_request_id_is_echoed_as_the_view_does(client):
    w, _, other, kid = _full_world(client)
    resp = client.post("/api/bookings", json={
        "event_id": w.event.id, "items": [{"child_id": kid.id, "slot_id": w.slots[0].id}],
    }, headers={**auth_headers(other), "X-Request-ID": "burst-42"})
    assert resp.status_code == 409 and resp.headers["X-Request-ID"] == "burst-42"


def test_requests_the_gate_must_not_judge_reach_the_view(client, app, view_calls):
    w, _, other, kid = _full_world(client)
    full = {"event_id": w.event.id, "items": [{"child_id": kid.id, "slot_id": w.slots[0].id}]}
    cases = [
        # no token / not a bearer token -> 401 from the view
        ({}, full, 401, "unauthorized"),
        ({"Authorization": "Basic Zm9vOmJhcg=="}, full, 401, "unauthorized"),
        # a body the schema refuses: the view's 422 wins over slot_full
        (auth_headers(other), {**full, "event_id": "x"}, 422, "validation_error"),
        (auth_headers(other), {"event_id": w.event.id, "items": [{"slot_id": w.slots[0].id}]},
         422, "validation_error"),
        # a slot with seats: the view books it
        (auth_headers(other), {"event_id": w.event.id,
                               "items": [{"child_id": kid.id, "slot_id": w.slots[1].id}]},
         201, None),
    ]
    for headers, body, status, code in cases:
        before = len(view_calls)
        resp = client.post("/api/bookings", json=body, headers=headers)
        assert resp.status_code == status, (headers, body, resp.get_json())
        if code:
            assert error_code(resp) == code
        assert len(view_calls) == before + 1, (headers, body)


def test_a_revoked_token_is_refused_not_told_the_slot_is_full(client, view_calls):
    w, _, other, kid = _full_world(client)
    old_token = auth_headers(other)
    other.token_version += 1  # a password change, say
    db.session.commit()
    before = len(view_calls)
    resp = client.post("/api/bookings", headers=old_token, json={
        "event_id": w.event.id, "items": [{"child_id": kid.id, "slot_id": w.slots[0].id}],
    })
    assert resp.status_code == 401 and error_code(resp) == "unauthorized"
    assert len(view_calls) == before + 1


@pytest.mark.commits  # Idempotency-Key: claimed in a transaction of its own
def test_an_idempotency_key_replays_the_first_answer_even_once_the_slot_is_full(client):
    w = make_world(capacity=1)
    headers = {**auth_headers(w.parent), "Idempotency-Key": "first-try"}
    body = {"event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}
    first = client.post("/api/bookings", json=body, headers=headers)
    assert first.status_code == 201
    # Someone else is turned away, which marks the slot full.
    turned_away = client.post("/api/bookings", headers=auth_headers(w.parent), json={
        "event_id": w.event.id, "items": [{"child_id": w.children[1].id, "slot_id": w.slots[0].id}],
    })
    assert turned_away.status_code == 409 and error_code(turned_away) == "slot_full"
    retry = client.post("/api/bookings", json=body, headers=headers)
    assert retry.status_code == 201
    assert retry.get_json()["booking"]["id"] == first.get_json()["booking"]["id"]


def test_a_request_the_gate_lets_through_is_not_checked_twice(client, app, monkeypatch):
    """The gate's token check (and its one Redis read) goes on with the request to the view."""
    w = make_world(capacity=5)
    conn = app.extensions["nibog_redis"]
    reads = []
    real_mget = conn.mget

    def counted_mget(*keys):
        reads.append(keys)
        return real_mget(*keys)

    monkeypatch.setattr(conn, "mget", counted_mget)
    resp = client.post("/api/bookings", headers=auth_headers(w.parent), json={
        "event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}],
    })
    assert resp.status_code == 201, resp.get_json()
    assert len(reads) == 1, reads

    app.config["FULL_SLOT_GATE"] = False
    try:
        resp = client.post("/api/bookings", headers=auth_headers(w.parent), json={
            "event_id": w.event.id,
            "items": [{"child_id": w.children[1].id, "slot_id": w.slots[0].id}],
        })
    finally:
        app.config["FULL_SLOT_GATE"] = True
    assert resp.status_code == 201 and len(reads) == 2, "the view checks on its own"


def _first_child_booked_with_planted(client, app, w, environ):
    """The parent books their first child into the first slot with ``environ`` planted and the
    gate off (so only what was planted, nothing of the gate's own, reaches the view)."""
    app.config["FULL_SLOT_GATE"] = False
    try:
        resp = client.post("/api/bookings", headers=auth_headers(w.parent), environ_base=environ,
                           json={"event_id": w.event.id,
                                 "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]})
    finally:
        app.config["FULL_SLOT_GATE"] = True
    assert resp.status_code == 201, resp.get_json()
    return resp


def test_a_token_check_handed_on_counts_only_for_its_own_token(client, app):
    """The view takes the front layer's check only for the very token it checked: a check of
    another parent's token never makes a request run as that parent."""
    from nibog.booking.models import Booking
    from nibog.core.auth import remember_checked_token, verify_token

    w = make_world(capacity=5)
    other = UserFactory()
    db.session.commit()
    other_token = auth_headers(other)["Authorization"].split()[1]
    with app.app_context():
        checked = verify_token(other_token)
    environ = {}
    remember_checked_token(environ, other_token, checked, {})
    resp = _first_child_booked_with_planted(client, app, w, environ)
    booking = db.session.get(Booking, resp.get_json()["booking"]["id"])
    assert booking.user_id == w.parent.id


def _items(booking_id):
    from sqlalchemy import select

    from nibog.booking.models import BookingItem

    return db.session.execute(select(BookingItem.child_id, BookingItem.slot_id)
                              .where(BookingItem.booking_id == booking_id)).all()


def _counted_loads(monkeypatch):
    from nibog.booking.schemas import CREATE_BOOKING_IN

    loads = []
    real_load = CREATE_BOOKING_IN.load

    def counted(*args, **kwargs):
        loads.append(1)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(CREATE_BOOKING_IN, "load", counted)
    return loads


def test_a_hold_the_gate_lets_through_has_its_body_loaded_once(client, app, monkeypatch):
    """The view takes the arguments the gate loaded with the same schema: one load per hold,
    and the booking is the one the body asked for."""
    w = make_world(capacity=5)
    loads = _counted_loads(monkeypatch)
    for gate_on, kid in ((True, w.children[0]), (False, w.children[1])):
        app.config["FULL_SLOT_GATE"] = gate_on
        try:
            before = len(loads)
            resp = client.post("/api/bookings", headers=auth_headers(w.parent), json={
                "event_id": w.event.id, "items": [{"child_id": kid.id, "slot_id": w.slots[1].id}],
                "ignored_field": "the schema drops it, gate or not",
            })
        finally:
            app.config["FULL_SLOT_GATE"] = True
        assert resp.status_code == 201, resp.get_json()
        assert len(loads) - before == 1, f"gate {'on' if gate_on else 'off'}: loaded once"
        assert _items(resp.get_json()["booking"]["id"]) == [(kid.id, w.slots[1].id)]


def test_arguments_loaded_for_another_body_never_stand_for_this_one(client, app):
    """Arguments a front layer loaded count only for the very bytes it loaded them from."""
    import json

    from nibog.booking.schemas import CREATE_BOOKING_IN
    from nibog.core.loaded_in_front import remember_loaded

    w = make_world(capacity=5, n_slots=3)
    planted_body = {"event_id": w.event.id,
                    "items": [{"child_id": w.children[1].id, "slot_id": w.slots[2].id}]}
    environ = {}
    remember_loaded(environ, CREATE_BOOKING_IN, json.dumps(planted_body).encode(),
                    CREATE_BOOKING_IN.load(planted_body))
    resp = _first_child_booked_with_planted(client, app, w, environ)
    assert _items(resp.get_json()["booking"]["id"]) == [(w.children[0].id, w.slots[0].id)]

"""N parents race for the same seats on real parallel PostgreSQL connections.

Each race has a control with the guard switched off inside the test: the same race then
oversells, so these tests can fail.
"""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from nibog.booking import holds
from nibog.booking.fastpath import full_marks
from nibog.booking.models import Booking, BookingItem
from nibog.booking.service import create_booking
from nibog.catalog.models import GameSlot
from nibog.core import locking
from nibog.core.errors import AppError
from nibog.extensions import db
from tests.booking.world import make_world
from tests.concurrency.race import codes, pause_at, race
from tests.factories import ChildFactory, GameSlotFactory, UserFactory, birth_date_for_age

N = 10
CAPACITY = 3


def parents_with_children(n, event):
    out = []
    for _ in range(n):
        parent = UserFactory()
        child = ChildFactory(parent=parent, date_of_birth=birth_date_for_age(24, event.event_date))
        out.append((parent.id, child.id))
    return out


def book_one(event_id, slot_id, people):
    def fn(i):
        user_id, child_id = people[i]
        return create_booking(
            user_id=user_id, event_id=event_id, items=[{"child_id": child_id, "slot_id": slot_id}],
            addons=[], promo_code=None, source="app",
        ).id

    return fn


def live_items(slot_id):
    return db.session.scalar(
        select(func.count()).select_from(BookingItem).where(
            BookingItem.slot_id == slot_id, BookingItem.is_live
        )
    )


def winners(slot_id):
    return set(db.session.scalars(
        select(BookingItem.child_id).where(BookingItem.slot_id == slot_id, BookingItem.is_live)))


def test_exactly_capacity_parents_get_the_seats(app):
    w = make_world(capacity=CAPACITY, n_slots=1, n_children=0)
    slot = w.slots[0]
    people = parents_with_children(N, w.event)
    results = race(app, N, book_one(w.event.id, slot.id, people))
    assert codes(results) == ["ok"] * CAPACITY + ["slot_full"] * (N - CAPACITY)
    db.session.expire_all()
    assert db.session.get(GameSlot, slot.id).booked_count == CAPACITY
    assert live_items(slot.id) == CAPACITY
    assert db.session.scalar(select(func.count()).select_from(Booking)) == CAPACITY


def test_parents_who_all_read_a_free_seat_get_only_the_seats_there_are(app, monkeypatch):
    """Every request reads the committed count (seats free) before any claims one: the claims
    decide under the row lock, and the late ones are refused and the slot marked full."""
    from nibog.extensions import get_redis

    w = make_world(capacity=CAPACITY, n_slots=1, n_children=0)
    slot = w.slots[0]
    people = parents_with_children(CAPACITY + 2, w.event)
    monkeypatch.setattr(locking.guards, "pause", pause_at("read", CAPACITY + 2))
    results = race(app, CAPACITY + 2, book_one(w.event.id, slot.id, people))
    assert codes(results) == ["ok"] * CAPACITY + ["slot_full"] * 2
    db.session.expire_all()
    assert db.session.get(GameSlot, slot.id).booked_count == CAPACITY == live_items(slot.id)
    event_id, _, holders = get_redis().get(f"slot-full:{slot.id}").partition(b":")
    assert event_id == str(w.event.id).encode()
    assert sorted(int(c) for c in holders.split(b",")) == sorted(
        child_id for _, child_id in people if child_id in winners(slot.id))


def test_control_without_row_locks_the_same_race_oversells(app, monkeypatch):
    w = make_world(capacity=CAPACITY, n_slots=1, n_children=0)
    slot = w.slots[0]
    people = parents_with_children(N, w.event)
    monkeypatch.setattr(locking.guards, "lock_rows", False)
    monkeypatch.setattr(locking.guards, "pause", pause_at("seats_read", N))
    results = race(app, N, book_one(w.event.id, slot.id, people))
    # Every parent was told "booked" for a slot with three seats; the counter lost the updates,
    # so even the CHECK constraint could not notice.
    assert codes(results) == ["ok"] * N
    db.session.expire_all()
    assert live_items(slot.id) == N > CAPACITY
    assert db.session.get(GameSlot, slot.id).booked_count < N


def test_the_same_child_sent_twice_at_once_gets_one_seat(app, monkeypatch):
    """A double tap: every request reads "not booked yet" before any commits; the later ones'
    claims wait for the first's row lock and the unique index on live items refuses their item."""
    w = make_world(capacity=CAPACITY, n_slots=1, n_children=1)
    slot, child = w.slots[0], w.children[0]
    monkeypatch.setattr(locking.guards, "pause", pause_at("read", 4))
    book = book_one(w.event.id, slot.id, [(w.parent.id, child.id)] * 4)
    refusals = []

    def tap(i):
        try:
            return book(i)
        except AppError as exc:
            refusals.append(exc.details)
            raise

    results = race(app, 4, tap)
    assert codes(results) == ["already_booked"] * 3 + ["ok"]
    db.session.expire_all()
    assert db.session.get(GameSlot, slot.id).booked_count == 1 == live_items(slot.id)
    # Each refusal names the booking that got the seat, so the app can offer to pay that one.
    (winner,) = [value for kind, value in results if kind == "ok"]
    assert refusals == [
        {"items": [{"child_id": child.id, "slot_id": slot.id, "booking_id": winner}]}
    ] * 3


def test_database_check_is_the_last_line_of_defence(app, monkeypatch):
    """Without the service's capacity checks the locked increment trips the CHECK constraint."""
    w = make_world(capacity=1, n_slots=1, n_children=2)
    slot = w.slots[0]

    def claim_without_checking(slots, seats):
        for sid, need in seats.items():
            slots[sid].booked_count += need

    monkeypatch.setattr(holds, "claim_seats", claim_without_checking)
    monkeypatch.setattr(full_marks, "reject_known_full", lambda event_id, items: None)
    monkeypatch.setattr(full_marks, "reject_full_in_committed", lambda counts, items: None)
    for child in w.children[:1]:
        create_booking(user_id=w.parent.id, event_id=w.event.id,
                       items=[{"child_id": child.id, "slot_id": slot.id}], addons=[],
                       promo_code=None, source="app")
        db.session.commit()
    with pytest.raises(IntegrityError, match="seats_within_capacity"):
        create_booking(user_id=w.parent.id, event_id=w.event.id,
                       items=[{"child_id": w.children[1].id, "slot_id": slot.id}], addons=[],
                       promo_code=None, source="app")
    db.session.rollback()
    assert live_items(slot.id) == 1


def opposite_order_bookings(app, w, a, b, n):
    people = parents_with_children(n, w.event)

    def fn(i):
        user_id, child_id = people[i]
        first, second = (a, b) if i % 2 == 0 else (b, a)
        return create_booking(
            user_id=user_id, event_id=w.event.id,
            items=[{"child_id": child_id, "slot_id": first.id},
                   {"child_id": child_id, "slot_id": second.id}],
            addons=[], promo_code=None, source="app",
        ).id

    return race(app, n, fn)


def test_multi_slot_bookings_in_opposite_orders_do_not_deadlock(app):
    w = make_world(capacity=50, n_slots=1, n_children=0)
    a = w.slots[0]
    b = GameSlotFactory(event_game=w.games[0], capacity=50, start_time=time(12), end_time=time(13))
    results = opposite_order_bookings(app, w, a, b, N)
    assert codes(results) == ["ok"] * N
    db.session.expire_all()
    assert db.session.get(GameSlot, a.id).booked_count == N == live_items(a.id)
    assert db.session.get(GameSlot, b.id).booked_count == N == live_items(b.id)


def test_control_locking_in_request_order_deadlocks(app, monkeypatch):
    w = make_world(capacity=50, n_slots=1, n_children=0)
    a = w.slots[0]
    b = GameSlotFactory(event_game=w.games[0], capacity=50, start_time=time(12), end_time=time(13))
    monkeypatch.setattr(locking.guards, "in_id_order", False)
    # Each thread holds its first slot before either asks for its second.
    monkeypatch.setattr(locking.guards, "pause", pause_at("row_locked", 2))
    results = opposite_order_bookings(app, w, a, b, 2)
    failures = [r for r in results if r[0] == "exception"]
    assert len(failures) == 1 and "deadlock detected" in failures[0][1]


def test_http_burst_for_one_slot(app):
    """The same race through the whole stack: N parents POST /api/bookings at once."""
    import threading

    from nibog.accounts.models import User
    from tests.helpers import auth_headers

    w = make_world(capacity=CAPACITY, n_slots=1, n_children=0)
    slot = w.slots[0]
    people = parents_with_children(N, w.event)
    headers = [auth_headers(db.session.get(User, user_id)) for user_id, _ in people]
    bodies = [{"event_id": w.event.id, "items": [{"child_id": child_id, "slot_id": slot.id}]}
              for _, child_id in people]
    start = threading.Barrier(N, timeout=60)
    statuses: list = [None] * N

    def parent(i):
        client = app.test_client()
        start.wait()
        resp = client.post("/api/bookings", headers=headers[i], json=bodies[i])
        statuses[i] = (resp.status_code, resp.get_json().get("error", {}).get("code"))

    threads = [threading.Thread(target=parent, args=(i,), daemon=True) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a booking request hung"
    assert sorted(statuses, key=str) == sorted(
        [(201, None)] * CAPACITY + [(409, "slot_full")] * (N - CAPACITY), key=str)
    db.session.expire_all()
    assert db.session.get(GameSlot, slot.id).booked_count == CAPACITY == live_items(slot.id)

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
from tests.concurrency.race import (
    codes,
    interleave,
    join_all,
    pause_at,
    race,
    without_database_rule,
)
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


# One control per guard, each switched off alone (docs/testing.md, "Races and their controls").


def book_two(event_id, slot_ids, people):
    """Each parent books one child into both slots: the locked path (a one-slot request would
    take the one-statement claim instead)."""
    def fn(i):
        user_id, child_id = people[i]
        return create_booking(
            user_id=user_id, event_id=event_id,
            items=[{"child_id": child_id, "slot_id": sid} for sid in slot_ids],
            addons=[], promo_code=None, source="app",
        ).id

    return fn


def two_slot_world():
    w = make_world(capacity=CAPACITY, n_slots=2, n_children=0)
    return w, [s.id for s in w.slots], parents_with_children(N, w.event)


def test_two_slot_bookings_who_all_read_free_seats_get_only_the_seats_there_are(app, monkeypatch):
    w, slot_ids, people = two_slot_world()
    monkeypatch.setattr(locking.guards, "pause", pause_at("read", N))
    results = race(app, N, book_two(w.event.id, slot_ids, people))
    assert codes(results) == ["ok"] * CAPACITY + ["slot_full"] * (N - CAPACITY)
    db.session.expire_all()
    for sid in slot_ids:
        assert db.session.get(GameSlot, sid).booked_count == CAPACITY == live_items(sid)


def test_control_without_row_locks_two_slot_bookings_oversell(app, monkeypatch):
    """Row locks alone off (the one-statement claim, full marks and the pre-check on): every
    request reads the counts before any writes them."""
    w, slot_ids, people = two_slot_world()
    monkeypatch.setattr(locking.guards, "lock_rows", False)
    monkeypatch.setattr(locking.guards, "pause", pause_at("seats_read", N))
    results = race(app, N, book_two(w.event.id, slot_ids, people))
    # Every parent was told "booked" for slots with three seats; the counters lost the updates,
    # so even the CHECK constraint could not notice.
    assert codes(results) == ["ok"] * N
    db.session.expire_all()
    for sid in slot_ids:
        assert live_items(sid) == N > CAPACITY
        assert db.session.get(GameSlot, sid).booked_count < N


def test_control_a_claim_in_two_statements_oversells(app, monkeypatch):
    """The one-statement claim alone off: the claim reads the count, then writes it."""
    w = make_world(capacity=CAPACITY, n_slots=1, n_children=0)
    slot = w.slots[0]
    people = parents_with_children(N, w.event)
    monkeypatch.setattr(locking.guards, "claim_in_one_statement", False)
    monkeypatch.setattr(locking.guards, "pause", pause_at("seats_read", N))
    results = race(app, N, book_one(w.event.id, slot.id, people))
    assert codes(results) == ["ok"] * N
    db.session.expire_all()
    assert live_items(slot.id) == N > CAPACITY
    assert db.session.get(GameSlot, slot.id).booked_count < N


def spy_one_statement(monkeypatch) -> list:
    """Record each booking the one-statement hold wrote (seat, booking and item at once)."""
    from nibog.booking.fastpath import one_statement

    written, real = [], one_statement.hold

    def hold(*args, **kwargs):
        out = real(*args, **kwargs)
        if out is not None and out[1] is not None:
            written.append(out[1].id)
        return out

    monkeypatch.setattr(one_statement, "hold", hold)
    return written


def test_one_statement_holds_take_exactly_the_seats_there_are(app, monkeypatch):
    """The usual booking (one child, one slot) is written by one statement whose conditional
    claim decides under the row lock: N racers, CAPACITY seats, every winner from that path."""
    w = make_world(capacity=CAPACITY, n_slots=1, n_children=0)
    slot = w.slots[0]
    people = parents_with_children(N, w.event)
    written = spy_one_statement(monkeypatch)
    monkeypatch.setattr(locking.guards, "pause", pause_at("read", N))
    results = race(app, N, book_one(w.event.id, slot.id, people))
    assert codes(results) == ["ok"] * CAPACITY + ["slot_full"] * (N - CAPACITY)
    assert sorted(written) == sorted(value for code, value in results if code == "ok")
    db.session.expire_all()
    assert db.session.get(GameSlot, slot.id).booked_count == CAPACITY == live_items(slot.id)


def test_control_one_statement_hold_without_its_guard_oversells(app, monkeypatch):
    """The same statement deciding from the count read before the race (its guard off):
    every racer is told "booked" by the one-statement path, and the slot is oversold."""
    w = make_world(capacity=CAPACITY, n_slots=1, n_children=0)
    slot = w.slots[0]
    people = parents_with_children(N, w.event)
    written = spy_one_statement(monkeypatch)
    monkeypatch.setattr(locking.guards, "claim_in_one_statement", False)
    monkeypatch.setattr(locking.guards, "pause", pause_at("seats_read", N))
    results = race(app, N, book_one(w.event.id, slot.id, people))
    assert codes(results) == ["ok"] * N
    assert len(written) == N
    db.session.expire_all()
    assert live_items(slot.id) == N > CAPACITY


def test_control_the_unlocked_pre_check_does_not_stop_the_race(app, monkeypatch):
    """The pre-check (and the full marks) read committed counts without a lock: they only
    refuse early. With both locked decisions off and the pre-check and marks on, the forced
    race oversells all the same - so the guarded tests above prove the locked decision, not
    a lucky pre-check. (The pre-check's own rule - a mark written under the row lock - has
    its control below.)"""
    w = make_world(capacity=CAPACITY, n_slots=1, n_children=0)
    slot = w.slots[0]
    people = parents_with_children(N, w.event)
    monkeypatch.setattr(locking.guards, "lock_rows", False)
    monkeypatch.setattr(locking.guards, "claim_in_one_statement", False)
    monkeypatch.setattr(locking.guards, "pause", pause_at("seats_read", N))
    results = race(app, N, book_one(w.event.id, slot.id, people))
    assert codes(results) == ["ok"] * N
    db.session.expire_all()
    assert live_items(slot.id) == N > CAPACITY


def _a_seat_freed_while_a_request_read_full(app):
    """A parent's request reads the slot full and stops; the holder cancels, freeing the seat;
    the request goes on (refused from its committed read) - then another parent asks."""
    from nibog.booking.service import cancel_booking

    w = make_world(capacity=1, n_slots=1, n_children=1)
    slot = w.slots[0]
    holder = book_one(w.event.id, slot.id, [(w.parent.id, w.children[0].id)])(0)
    db.session.commit()
    (asker,), (next_parent,) = parents_with_children(1, w.event), parents_with_children(1, w.event)
    db.session.commit()
    results = interleave(
        app,
        book_one(w.event.id, slot.id, [asker]),
        lambda _: cancel_booking(holder, actor_id=None)[1],
        "read",
    )
    assert results[0] == ("error", "slot_full") and results[1][0] == "ok"
    with app.app_context():
        try:
            after = ("ok", book_one(w.event.id, slot.id, [next_parent])(0))
        except AppError as exc:
            after = ("error", exc.code)
        finally:
            db.session.rollback()
            db.session.remove()
    return after


def test_a_seat_freed_while_a_request_read_full_is_not_hidden_by_a_mark(app):
    assert _a_seat_freed_while_a_request_read_full(app)[0] == "ok"


def test_control_a_mark_written_without_the_lock_hides_a_free_seat(app, monkeypatch):
    """Full marks under the row lock alone off: the refused request marks the slot full from
    its stale read, after the cancellation freed the seat - the next parent is refused."""
    monkeypatch.setattr(locking.guards, "marks_under_lock", False)
    assert _a_seat_freed_while_a_request_read_full(app) == ("error", "slot_full")


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


@pytest.fixture
def without_the_live_item_index(app):
    with without_database_rule(
        "DROP INDEX uq_booking_items_live_child_slot",
        "CREATE UNIQUE INDEX uq_booking_items_live_child_slot"
        " ON booking_items (child_id, slot_id) WHERE is_live",
        before_restore="UPDATE booking_items SET is_live = false",
    ):
        yield


def test_control_without_the_live_item_index_a_double_tap_books_the_child_twice(
        app, monkeypatch, without_the_live_item_index):
    w = make_world(capacity=CAPACITY, n_slots=1, n_children=1)
    slot, child = w.slots[0], w.children[0]
    monkeypatch.setattr(locking.guards, "pause", pause_at("read", 4))
    results = race(app, 4, book_one(w.event.id, slot.id, [(w.parent.id, child.id)] * 4))
    # Every tap read "not booked" before any committed; only the index catches a repeat that
    # claims a free seat, so the child now holds all three (the fourth tap found the slot full
    # and, on the locked path, the child's seats).
    assert codes(results) == ["already_booked"] + ["ok"] * CAPACITY
    db.session.expire_all()
    assert live_items(slot.id) == CAPACITY and winners(slot.id) == {child.id}


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
    join_all(threads)
    assert sorted(statuses, key=str) == sorted(
        [(201, None)] * CAPACITY + [(409, "slot_full")] * (N - CAPACITY), key=str)
    db.session.expire_all()
    assert db.session.get(GameSlot, slot.id).booked_count == CAPACITY == live_items(slot.id)

"""Two admins move two children into the last seat of a slot at the same moment."""

import threading

import pytest

from nibog.booking import moves
from nibog.booking.models import BookingItem
from nibog.catalog.models import GameSlot
from nibog.core import boundary, locking
from nibog.core.errors import AppError
from nibog.extensions import db
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    UserFactory,
    make_booking,
)

# Commit mode (docs/testing.md, "Isolation"): races between threads, each on its own connection.
pytestmark = pytest.mark.commits


def _race(app, monkeypatch, *, guarded: bool):
    game = EventGameFactory(event=EventFactory())
    target = GameSlotFactory(event_game=game, capacity=1)
    moves_to_make = []
    for _ in range(2):
        source = GameSlotFactory(event_game=game, capacity=5)
        parent = UserFactory()
        booking = make_booking(parent, [(ChildFactory(parent=parent), source)])
        item = db.session.scalar(db.select(BookingItem).where(BookingItem.booking_id == booking.id))
        moves_to_make.append((booking.id, item.id))
    target_id = target.id

    barrier = threading.Barrier(2)

    def pause(stage):
        # Both movers sit between reading the counter and writing it, if the guard lets them.
        if stage != "move_read":
            return
        try:
            barrier.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass

    monkeypatch.setattr(locking.guards, "pause", pause)
    monkeypatch.setattr(locking.guards, "lock_rows", guarded)
    outcomes = []

    def mover(booking_id, item_id):
        with app.app_context():
            try:
                moves.move_item(booking_id, item_id, target_id)
                boundary.commit()
                outcomes.append("moved")
            except AppError as exc:
                boundary.rollback()
                outcomes.append(exc.code)

    threads = [threading.Thread(target=mover, args=m, daemon=True) for m in moves_to_make]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a move hung"
    db.session.expire_all()
    live_in_target = db.session.scalar(
        db.select(db.func.count())
        .select_from(BookingItem)
        .where(BookingItem.slot_id == target_id, BookingItem.is_live.is_(True))
    )
    return sorted(outcomes), live_in_target, db.session.get(GameSlot, target_id)


def test_moves_into_the_last_seat_take_it_once(app, monkeypatch):
    outcomes, live, target = _race(app, monkeypatch, guarded=True)
    assert outcomes == ["moved", "slot_full"]
    assert live == 1 and target.booked_count == 1


def test_control_without_row_locks_the_slot_is_oversold(app, monkeypatch):
    outcomes, live, target = _race(app, monkeypatch, guarded=False)
    # Both read "0 of 1 taken" and both wrote 1: two children hold the one seat.
    assert outcomes == ["moved", "moved"]
    assert live == 2 and target.booked_count == 1

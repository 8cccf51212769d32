"""An admin shrinking a slot while parents book it: a clean 409 or a safe resize, never a 500.

The control switches the row locks off and lets bookings land between the admin's read of
``booked_count`` and the write: the database CHECK then refuses the write with an
IntegrityError (a 500 to the admin) - the lock is what turns the race into a clean answer.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from nibog.catalog import event_admin
from nibog.catalog.admin_service import Actor
from nibog.catalog.models import GameSlot
from nibog.core import locking
from nibog.extensions import db
from tests.concurrency.race import race
from tests.factories import ChildFactory, EventGameFactory, GameSlotFactory, UserFactory

# Commit mode (docs/testing.md, "Isolation"): races between threads, each on its own connection.
pytestmark = pytest.mark.commits


@pytest.fixture
def setup(app):
    game = EventGameFactory()
    slot = GameSlotFactory(event_game=game, capacity=10, booked_count=6)
    children = [ChildFactory() for _ in range(3)]
    admin = UserFactory(role="admin")
    return {"event": game.event_id, "game": game.id, "slot": slot.id, "admin": admin.id,
            "children": [(c.id, c.user_id) for c in children]}


def _shrink(s, capacity=7):
    event_admin.update_event(
        s["event"], {"games": [{"id": s["game"], "slots": [{"id": s["slot"], "capacity": capacity}]}]},
        Actor(s["admin"]),
    )


def _book(s, i):
    from nibog.booking.service import create_booking

    child_id, user_id = s["children"][i]
    return create_booking(user_id=user_id, event_id=s["event"],
                          items=[{"child_id": child_id, "slot_id": s["slot"]}], addons=[],
                          promo_code=None, source="app").id


def test_shrinking_while_booking_is_safe(app, setup):
    results = race(app, 4, lambda i: _shrink(setup) if i == 0 else _book(setup, i - 1))
    assert not [r for r in results if r[0] == "exception"], results
    db.session.expire_all()
    slot = db.session.get(GameSlot, setup["slot"])
    assert slot.booked_count <= slot.capacity
    admin_result, bookings = results[0], results[1:]
    booked = sum(1 for r in bookings if r[0] == "ok")
    assert slot.booked_count == 6 + booked
    if admin_result[0] == "ok":
        assert slot.capacity == 7 and booked <= 1
        assert all(r == ("error", "slot_full") for r in bookings if r[0] != "ok")
    else:
        assert admin_result == ("error", "capacity_below_booked")
        assert slot.capacity == 10


def test_control_without_the_lock_the_database_refuses_with_a_500(app, setup, monkeypatch):
    def book_everyone_now(stage):
        if stage != "capacity_read":
            return
        def run():
            with app.app_context():
                from nibog.core import boundary

                for i in range(3):
                    _book(setup, i)
                    boundary.commit()
                db.session.remove()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        t.join(timeout=60)
        assert not t.is_alive()

    monkeypatch.setattr(locking.guards, "lock_rows", False)
    monkeypatch.setattr(locking.guards, "pause", book_everyone_now)
    with app.app_context():
        with pytest.raises(IntegrityError):
            _shrink(setup)
            db.session.flush()
        db.session.rollback()
        db.session.remove()
    assert db.session.scalar(sa.select(GameSlot.booked_count)) == 9

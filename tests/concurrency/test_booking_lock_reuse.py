"""A booking's row lock taken twice in one transaction is read once (the capture locks the
booking, then the confirmation it announces locks it again) - but only while the transaction
really holds it: a rollback to a savepoint releases a lock taken after it, and a commit
releases them all. Another connection (``FOR UPDATE NOWAIT``) says whether the row is locked.
"""

from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from nibog.booking.access import held_booking, lock_booking
from nibog.core import boundary
from nibog.extensions import db
from tests.booking.world import make_world
from tests.concurrency.test_lifecycle_races import hold


def locked_elsewhere(booking_id: int) -> bool:
    with db.engine.connect() as other:
        try:
            other.execute(text("SELECT id FROM bookings WHERE id = :id FOR UPDATE NOWAIT"),
                          {"id": booking_id})
        except OperationalError:
            return True
        finally:
            other.rollback()
    return False


def a_held_booking() -> int:
    w = make_world(capacity=2, n_slots=1, n_children=1)
    return hold(w, w.parent.id, w.children[0].id)


def test_a_second_lock_in_the_same_transaction_reads_nothing(app):
    booking_id = a_held_booking()
    sent = []
    # The statement as written (a prepared one goes on the wire as EXECUTE name(...)).
    listener = lambda *args: sent.append(args[4].statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        first = lock_booking(booking_id)
        second = lock_booking(booking_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert second is first and held_booking(booking_id) is first
    assert sum("FOR UPDATE" in s for s in sent) == 1
    assert locked_elsewhere(booking_id)
    boundary.rollback()
    assert not locked_elsewhere(booking_id)


def test_a_lock_rolled_back_with_its_savepoint_is_taken_again(app):
    booking_id = a_held_booking()
    savepoint = db.session.begin_nested()
    lock_booking(booking_id)
    assert locked_elsewhere(booking_id)
    savepoint.rollback()
    # PostgreSQL released the row lock with the savepoint: nothing may remember it.
    assert not locked_elsewhere(booking_id)
    assert held_booking(booking_id) is None
    lock_booking(booking_id)
    assert locked_elsewhere(booking_id)
    boundary.rollback()


def test_a_lock_is_not_remembered_past_the_commit(app):
    booking_id = a_held_booking()
    lock_booking(booking_id)
    boundary.commit()
    assert not locked_elsewhere(booking_id)
    db.session.execute(text("SELECT 1"))  # the next transaction has begun
    assert held_booking(booking_id) is None
    lock_booking(booking_id)
    assert locked_elsewhere(booking_id)
    boundary.rollback()

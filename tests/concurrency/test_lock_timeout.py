"""A row lock held too long fails the waiting request clearly (503 busy), not by piling up."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from nibog.booking.service import create_booking
from nibog.catalog.models import GameSlot
from nibog.core.errors import refusal_for
from nibog.extensions import db
from tests.booking.world import make_world

pytestmark = pytest.mark.concurrency


def test_every_connection_has_the_configured_lock_timeout(app):
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SHOW lock_timeout")).scalar() == "5s"


def test_a_booking_behind_a_stuck_lock_fails_as_busy(app):
    w = make_world(capacity=5)
    slot_id, event_id, child_id, parent_id = w.slots[0].id, w.event.id, w.children[0].id, w.parent.id
    db.session.commit()
    locked, release = threading.Event(), threading.Event()

    engine = db.engine

    def stuck_transaction():
        with engine.connect() as conn, conn.begin():
            conn.execute(sa.select(GameSlot.id).where(GameSlot.id == slot_id).with_for_update())
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=stuck_transaction, daemon=True)
    holder.start()
    try:
        assert locked.wait(10)
        db.session.execute(sa.text("SET LOCAL lock_timeout = '300ms'"))
        with pytest.raises(OperationalError) as err:
            create_booking(user_id=parent_id, event_id=event_id,
                           items=[{"child_id": child_id, "slot_id": slot_id}], addons=None,
                           promo_code=None, source="app")
        db.session.rollback()
    finally:
        release.set()
        holder.join(10)
    assert not holder.is_alive(), "the lock holder hung"
    refusal = refusal_for(err.value)
    assert (refusal.status, refusal.code) == (503, "busy")
    assert refusal.headers == {"Retry-After": "2"}

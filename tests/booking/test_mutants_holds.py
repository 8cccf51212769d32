"""Rules of nibog/booking/holds.py that mutation testing found no test holding
(docs/testing.md, "Mutation testing"): seats and add-on stock under their row locks."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from nibog.catalog.models import AddOnVariant, GameSlot
from nibog.core import locking
from nibog.extensions import db
from tests.booking.world import add_variant, make_world
from tests.helpers import auth_headers


def post(client, user, body):
    return client.post("/api/bookings", json=body, headers=auth_headers(user))


def test_out_of_stock_names_each_short_add_on_and_what_is_left(client, monkeypatch):
    """The refusal says which add-ons ran short and how many are left of each (the booking
    form offers what is left), and books nothing."""
    w = make_world(n_slots=1)
    gone = add_variant(w.event, stock=3, name="Cap")
    low = add_variant(w.event, stock=5, name="Meal Pack")
    plenty = add_variant(w.event, stock=10, name="Bottle")
    db.session.execute(update(AddOnVariant).where(AddOnVariant.id == gone.id).values(sold_count=3))
    db.session.execute(update(AddOnVariant).where(AddOnVariant.id == low.id).values(sold_count=4))
    db.session.commit()
    stages: list[str] = []
    monkeypatch.setattr(locking.guards, "pause", stages.append)
    resp = post(client, w.parent, {
        "event_id": w.event.id,
        "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}],
        "addons": [{"addon_id": v.addon_id, "variant_id": v.id, "quantity": q}
                   for v, q in ((low, 2), (plenty, 1), (gone, 1))]})
    assert resp.status_code == 409, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "addon_out_of_stock"
    assert error["message"] == "Not enough stock left for an add-on"
    assert error["details"] == {"variant_ids": sorted([gone.id, low.id]),
                                "stock_left": {str(gone.id): 0, str(low.id): 1}}
    # The race tests line requests up here, after the stock was read under its lock.
    assert stages.count("stock_read") == 1
    db.session.expire_all()
    assert [db.session.get(AddOnVariant, v.id).sold_count for v in (gone, low, plenty)] == [3, 4, 0]
    assert db.session.get(GameSlot, w.slots[0].id).booked_count == 0


def test_already_booked_says_so_in_words(client):
    w = make_world(n_slots=1)
    item = {"child_id": w.children[0].id, "slot_id": w.slots[0].id}
    assert post(client, w.parent, {"event_id": w.event.id, "items": [item]}).status_code == 201
    again = post(client, w.parent, {"event_id": w.event.id, "items": [item]})
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "already_booked"
    assert error["message"] == "This child is already booked into this slot"


def _meanwhile_at_read(monkeypatch, slot_id: int, stages: list, **values) -> None:
    """At the `read` pause (after the request's unlocked read, before any lock) another
    transaction changes the slot and commits: the locked claim must decide on the row as it
    is now. Records every pause stage."""

    def pause(stage):
        stages.append(stage)
        if stage == "read":
            with db.engine.begin() as other:
                other.execute(update(GameSlot).where(GameSlot.id == slot_id).values(**values))

    monkeypatch.setattr(locking.guards, "pause", pause)


@pytest.mark.commits  # another connection commits during the test
def test_a_slot_closed_after_the_unlocked_read_is_refused_under_the_lock(client, monkeypatch):
    w = make_world(n_slots=2)
    closing, other = w.slots
    db.session.commit()
    stages: list[str] = []
    _meanwhile_at_read(monkeypatch, closing.id, stages, is_open=False)
    resp = post(client, w.parent, {"event_id": w.event.id, "items": [
        {"child_id": w.children[0].id, "slot_id": closing.id},
        {"child_id": w.children[0].id, "slot_id": other.id}]})
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"] == {"code": "slot_closed",
                                        "message": "Booking is closed for this slot",
                                        "details": {"slot_ids": [closing.id]}}
    assert stages.count("seats_read") == 1  # where the seat races line requests up
    db.session.expire_all()
    assert [db.session.get(GameSlot, s.id).booked_count for s in w.slots] == [0, 0]


@pytest.mark.commits  # another connection commits during the test
def test_a_slot_short_of_seats_but_not_full_is_not_marked_full(client, monkeypatch):
    """Two seats asked, one left: refused, but the slot is not marked full - the next parent
    asking for one seat gets it."""
    w = make_world(capacity=3, n_slots=1)
    slot = w.slots[0]
    db.session.commit()
    _meanwhile_at_read(monkeypatch, slot.id, [], booked_count=2)
    resp = post(client, w.parent, {"event_id": w.event.id, "items": [
        {"child_id": c.id, "slot_id": slot.id} for c in w.children]})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "slot_full"
    monkeypatch.setattr(locking.guards, "pause", None)
    resp = post(client, w.parent, {"event_id": w.event.id, "items": [
        {"child_id": w.children[0].id, "slot_id": slot.id}]})
    assert resp.status_code == 201, resp.get_json()
    db.session.expire_all()
    assert db.session.get(GameSlot, slot.id).booked_count == 3


def test_a_locked_claim_of_one_slot_writes_its_count(app):
    """The locked path's claim (confirming a booking after its hold expired, a full request
    retried): the row and the slot object both hold the new count."""
    from collections import Counter

    from nibog.booking import holds

    w = make_world(capacity=3, n_slots=1)
    slot_id = w.slots[0].id
    db.session.commit()
    slots = holds.lock_slots(Counter({slot_id: 2}))
    holds.claim_seats(slots, Counter({slot_id: 2}))
    assert slots[slot_id].booked_count == 2 and slots[slot_id].seats_left == 1
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(GameSlot, slot_id).booked_count == 2


def test_a_claim_rolled_back_with_its_savepoint_leaves_the_slot_as_it_was(app):
    """A claim inside a savepoint goes through the unit of work: when the savepoint rolls
    back, the slot object shows the seats free again (a later change to the slot must not
    write the rolled-back count)."""
    from collections import Counter

    from nibog.booking import holds

    w = make_world(capacity=3, n_slots=1)
    slot_id = w.slots[0].id
    db.session.commit()
    slots = holds.lock_slots(Counter({slot_id: 1}))
    slot = slots[slot_id]
    savepoint = db.session.begin_nested()
    holds.claim_seats(slots, Counter({slot_id: 2}))
    db.session.flush()
    savepoint.rollback()
    assert slot.booked_count == 0
    slot.capacity = 4  # a later change of the same slot in this transaction
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(GameSlot, slot_id).booked_count == 0


def test_a_late_payment_for_a_child_booked_again_meanwhile_is_refused_cleanly(app):
    """The hold expired, the parent booked the same child into the same slot again, then the
    first hold's payment arrived: not revived (the child would hold two seats) - refused as
    already booked, naming the new booking, so the payment is refunded."""
    from datetime import timedelta

    import pytest

    from nibog.booking.lifecycle import SeatsNoLongerAvailable
    from nibog.booking.service import confirm_booking, create_booking, expire_holds
    from nibog.core import boundary
    from nibog.core.timeutil import utcnow

    w = make_world(capacity=3, n_slots=1)
    slot = w.slots[0]

    def book():
        booking = create_booking(
            user_id=w.parent.id, event_id=w.event.id, addons=[], promo_code=None, source="app",
            items=[{"child_id": w.children[0].id, "slot_id": slot.id}])
        boundary.commit()
        return booking.id

    late = book()
    expire_holds(now=utcnow() + timedelta(hours=1))
    boundary.commit()
    again = book()
    with pytest.raises(SeatsNoLongerAvailable) as err:
        confirm_booking(late, source="payment")
    assert err.value.details["reason"] == "already_booked"
    assert err.value.details["items"] == [
        {"child_id": w.children[0].id, "slot_id": slot.id, "booking_id": again}]
    boundary.rollback()
    db.session.expire_all()
    assert db.session.get(GameSlot, slot.id).booked_count == 1

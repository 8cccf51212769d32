"""The waiting list driven by the real booking engine: cancel, hold expiry, leaving an offer."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from nibog.booking.models import Booking, BookingItem, WaitingListEntry
from nibog.catalog.models import EventGame, GameSlot
from nibog.core import tx
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    UserFactory,
)
from tests.helpers import auth_headers


@pytest.fixture
def queue(client):
    """Capacity-1 slot booked (paid) by a first parent; two more parents queue, in order."""
    from nibog.booking.service import create_booking

    slot = GameSlotFactory(event_game=EventGameFactory(event=EventFactory()), capacity=1)
    holder = UserFactory()
    booking = create_booking(
        user_id=holder.id,
        event_id=db.session.get(EventGame, slot.event_game_id).event_id,
        items=[{"child_id": ChildFactory(parent=holder).id, "slot_id": slot.id}],
        addons=[],
        promo_code=None,
        source="app",
    )
    tx.commit()
    parents = [UserFactory() for _ in range(2)]
    entries = []
    for parent in parents:
        resp = client.post(
            "/api/waiting-list",
            json={"slot_id": slot.id, "child_id": ChildFactory(parent=parent).id},
            headers=auth_headers(parent),
        )
        assert resp.status_code == 201, resp.get_json()
        entries.append(resp.get_json()["id"])
    return slot, holder, booking.id, parents, entries


def _state(entry_ids):
    db.session.expire_all()
    return [db.session.get(WaitingListEntry, i) for i in entry_ids]


def test_cancel_offers_the_seat_and_an_unpaid_offer_passes_on(queue):
    from nibog.booking.service import cancel_booking, expire_holds

    slot, holder, booking_id, parents, entry_ids = queue
    cancel_booking(booking_id, actor_id=holder.id, reason="plans changed")
    tx.commit()  # the freed seat is offered by the job queued on commit

    first, second = _state(entry_ids)
    assert (first.status, second.status) == ("offered", "waiting")
    hold = db.session.get(Booking, first.offered_booking_id)
    assert hold.status == "pending_payment" and hold.source == "waitlist"
    assert db.session.get(GameSlot, slot.id).booked_count == 1

    # Nobody pays: at the offer's deadline the hold expires and the seat moves on.
    assert expire_holds(now=first.offer_expires_at + timedelta(seconds=1)) == 1
    tx.commit()
    first, second = _state(entry_ids)
    assert first.status == "expired"
    assert second.status == "offered"
    assert db.session.get(Booking, second.offered_booking_id).user_id == parents[1].id
    assert db.session.get(GameSlot, slot.id).booked_count == 1


def test_paid_offer_is_booked_and_leaving_an_offer_hands_it_on(client, queue):
    from nibog.booking.service import cancel_booking, confirm_booking

    slot, holder, booking_id, parents, entry_ids = queue
    cancel_booking(booking_id, actor_id=holder.id)
    tx.commit()
    first, _ = _state(entry_ids)

    # The first parent does not want it after all: leaving releases the held seat at once.
    resp = client.delete(f"/api/waiting-list/{first.id}", headers=auth_headers(parents[0]))
    assert resp.status_code == 204
    first, second = _state(entry_ids)
    assert first.status == "cancelled"
    assert db.session.get(Booking, first.offered_booking_id).status == "cancelled"
    assert second.status == "offered"

    confirm_booking(second.offered_booking_id, source="payment")
    tx.commit()
    listed = client.get("/api/users/me/waiting-list", headers=auth_headers(parents[1])).get_json()[
        "items"
    ]
    assert listed[0]["status"] == "booked"
    assert listed[0]["offered_booking"]["status"] == "confirmed"


def test_raised_capacity_offers_to_several_in_order(queue):
    from nibog.booking.waitlist_tasks import offer_waitlist_seats

    slot, _, _, parents, entry_ids = queue
    db.session.get(GameSlot, slot.id).capacity = 3
    db.session.commit()
    assert offer_waitlist_seats(slot.id) == 2
    assert [e.status for e in _state(entry_ids)] == ["offered", "offered"]
    assert db.session.get(GameSlot, slot.id).booked_count == 3
    assert offer_waitlist_seats(slot.id) == 0  # running again offers nothing twice


def test_offer_expiry_job_passes_an_overdue_offer_on(queue):
    from nibog.booking.service import cancel_booking
    from nibog.booking.waitlist_tasks import expire_waitlist_offers

    slot, holder, booking_id, parents, entry_ids = queue
    cancel_booking(booking_id, actor_id=holder.id)
    tx.commit()
    first, _ = _state(entry_ids)
    # The deadline passed (set in the past rather than waiting for the clock).
    first.offer_expires_at = utcnow() - timedelta(seconds=1)
    db.session.get(Booking, first.offered_booking_id).hold_expires_at = first.offer_expires_at
    db.session.commit()

    expire_waitlist_offers()
    first, second = _state(entry_ids)
    assert first.status == "expired"
    assert second.status == "offered"


def test_concurrent_offer_rounds_offer_a_seat_once(app, queue):
    """Two workers react to the same freed seat: one offer, the queue order kept."""
    import threading

    from nibog.booking.waitlist_tasks import offer_waitlist_seats

    slot, _, _, _, entry_ids = queue
    slot_id = slot.id  # plain id: ORM objects stay with the test's session
    db.session.get(GameSlot, slot_id).capacity = 2
    db.session.commit()
    barrier = threading.Barrier(2)
    results = []

    def worker():
        with app.app_context():
            barrier.wait()
            results.append(offer_waitlist_seats(slot_id))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]
    assert [e.status for e in _state(entry_ids)] == ["offered", "waiting"]
    assert db.session.get(GameSlot, slot_id).booked_count == 2


def test_a_child_booked_meanwhile_is_passed_over(client, queue):
    from nibog.booking.moves import move_item
    from nibog.booking.service import create_booking
    from nibog.booking.waitlist_tasks import offer_waitlist_seats

    slot, _, _, parents, entry_ids = queue
    first, _ = _state(entry_ids)
    event_game = db.session.get(EventGame, slot.event_game_id)
    other_slot = GameSlotFactory(event_game=event_game, capacity=5)
    elsewhere = create_booking(
        user_id=parents[0].id,
        event_id=event_game.event_id,
        items=[{"child_id": first.child_id, "slot_id": other_slot.id}],
        addons=[],
        promo_code=None,
        source="app",
    )
    tx.commit()
    db.session.get(GameSlot, slot.id).capacity = 3
    db.session.commit()
    # Before the offer round ran, an admin moved the first child's seat into this slot.
    item_id = db.session.scalar(
        sa.select(BookingItem.id).where(BookingItem.booking_id == elsewhere.id))
    move_item(elsewhere.id, item_id, slot.id)
    tx.commit()
    assert offer_waitlist_seats(slot.id) == 1
    first, second = _state(entry_ids)
    assert (first.status, second.status) == ("cancelled", "offered")
    listed = client.get("/api/waiting-list", headers=auth_headers(parents[0])).get_json()["items"]
    assert listed[0]["closed_reason"] == "already_booked"


def test_a_seat_freed_for_the_queue_is_not_sold_to_whoever_asks_first(client, queue):
    """Between a seat being freed and the offer round giving it to the first child in the
    queue, a direct booking cannot take it: it is told the slot is full and to join the list."""
    from nibog.booking.waitlist_tasks import offer_waitlist_seats

    slot, _, _, parents, entry_ids = queue
    # A seat frees without the offer round running yet (capacity raised straight in the table).
    db.session.execute(sa.update(GameSlot).where(GameSlot.id == slot.id).values(capacity=2))
    db.session.commit()
    newcomer = UserFactory()
    kid = ChildFactory(parent=newcomer)
    body = {"event_id": db.session.get(EventGame, slot.event_game_id).event_id,
            "items": [{"child_id": kid.id, "slot_id": slot.id}]}
    refused = client.post("/api/bookings", json=body, headers=auth_headers(newcomer))
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["error"]["code"] == "slot_full"
    assert refused.get_json()["error"]["details"] == {"slot_ids": [slot.id], "waiting_list": True}
    # Joining is the way in (the slot has a free seat, but it is the queue's).
    joined = client.post("/api/waiting-list", json={"slot_id": slot.id, "child_id": kid.id},
                         headers=auth_headers(newcomer))
    assert joined.status_code == 201 and joined.get_json()["position"] == 3

    assert offer_waitlist_seats(slot.id) == 1
    first, second = _state(entry_ids)
    assert (first.status, second.status) == ("offered", "waiting")
    assert db.session.get(GameSlot, slot.id).booked_count == 2

    # Once nobody is waiting, a free seat is anyone's again.
    db.session.execute(sa.update(WaitingListEntry).where(WaitingListEntry.status == "waiting")
                       .values(status="cancelled"))
    db.session.execute(sa.update(GameSlot).where(GameSlot.id == slot.id).values(capacity=3))
    db.session.commit()
    assert client.post("/api/bookings", json=body,
                       headers=auth_headers(newcomer)).status_code == 201

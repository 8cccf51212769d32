"""The waiting list driven by the real booking engine: cancel, hold expiry, leaving an offer."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from nibog.booking.models import Booking, BookingItem, WaitingListEntry
from nibog.catalog.models import EventGame, GameSlot
from nibog.core import boundary
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
    boundary.commit()
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
    boundary.commit()  # the freed seat is offered by the job queued on commit

    first, second = _state(entry_ids)
    assert (first.status, second.status) == ("offered", "waiting")
    hold = db.session.get(Booking, first.offered_booking_id)
    assert hold.status == "pending_payment" and hold.source == "waitlist"
    assert db.session.get(GameSlot, slot.id).booked_count == 1

    # Nobody pays: at the offer's deadline the hold expires and the seat moves on.
    assert expire_holds(now=first.offer_expires_at + timedelta(seconds=1)) == 1
    boundary.commit()
    first, second = _state(entry_ids)
    assert first.status == "expired"
    assert second.status == "offered"
    assert db.session.get(Booking, second.offered_booking_id).user_id == parents[1].id
    assert db.session.get(GameSlot, slot.id).booked_count == 1


def test_paid_offer_is_booked_and_leaving_an_offer_hands_it_on(client, queue):
    from nibog.booking.service import cancel_booking, confirm_booking

    slot, holder, booking_id, parents, entry_ids = queue
    cancel_booking(booking_id, actor_id=holder.id)
    boundary.commit()
    first, _ = _state(entry_ids)

    # The first parent does not want it after all: leaving releases the held seat at once.
    resp = client.delete(f"/api/waiting-list/{first.id}", headers=auth_headers(parents[0]))
    assert resp.status_code == 204
    first, second = _state(entry_ids)
    assert first.status == "cancelled"
    assert db.session.get(Booking, first.offered_booking_id).status == "cancelled"
    assert second.status == "offered"

    confirm_booking(second.offered_booking_id, source="payment")
    boundary.commit()
    listed = client.get("/api/users/me/waiting-list", headers=auth_headers(parents[1])).get_json()[
        "items"
    ]
    assert listed[0]["status"] == "booked"
    assert listed[0]["offered_booking"]["status"] == "confirmed"


def test_raised_capacity_offers_to_several_in_order(queue):
    from nibog.waitlist.tasks import offer_waitlist_seats

    slot, _, _, parents, entry_ids = queue
    db.session.get(GameSlot, slot.id).capacity = 3
    db.session.commit()
    assert boundary.run_unit(offer_waitlist_seats, slot.id) == 2
    assert [e.status for e in _state(entry_ids)] == ["offered", "offered"]
    assert db.session.get(GameSlot, slot.id).booked_count == 3
    assert boundary.run_unit(offer_waitlist_seats, slot.id) == 0  # running again offers nothing twice


def test_offer_expiry_job_passes_an_overdue_offer_on(queue):
    from nibog.booking.service import cancel_booking
    from nibog.waitlist.tasks import expire_waitlist_offers

    slot, holder, booking_id, parents, entry_ids = queue
    cancel_booking(booking_id, actor_id=holder.id)
    boundary.commit()
    first, _ = _state(entry_ids)
    # The deadline passed (set in the past rather than waiting for the clock).
    first.offer_expires_at = utcnow() - timedelta(seconds=1)
    db.session.get(Booking, first.offered_booking_id).hold_expires_at = first.offer_expires_at
    db.session.commit()

    boundary.run_unit(expire_waitlist_offers)
    first, second = _state(entry_ids)
    assert first.status == "expired"
    assert second.status == "offered"


def _two_offer_rounds(app, queue, *, forced: bool):
    from nibog.waitlist.tasks import offer_waitlist_seats
    from tests.concurrency.race import interleave, race

    slot, _, _, _, entry_ids = queue
    slot_id = slot.id  # plain id: ORM objects stay with the test's session
    db.session.get(GameSlot, slot_id).capacity = 2
    db.session.commit()

    def round_(_):
        return offer_waitlist_seats(slot_id)

    if forced:
        results = interleave(app, round_, round_, "offer_picked")
    else:
        results = race(app, 2, round_)
    db.session.expire_all()
    return results, [e.status for e in _state(entry_ids)], db.session.get(GameSlot, slot_id)


@pytest.mark.commits  # a race between threads
def test_concurrent_offer_rounds_offer_a_seat_once(app, queue):
    """Two workers react to the same freed seat: one offer, the queue order kept."""
    results, statuses, slot = _two_offer_rounds(app, queue, forced=False)
    assert sorted(r[1] for r in results) == [0, 1]
    assert statuses == ["offered", "waiting"]
    assert slot.booked_count == 2


@pytest.mark.commits  # a race between threads
def test_a_round_started_during_another_waits_for_it(app, queue):
    """The second round starts while the first has picked the first child and not yet
    booked: it waits for the slot, then finds no seat left; the queue order is kept."""
    results, statuses, slot = _two_offer_rounds(app, queue, forced=True)
    assert results == [("ok", 1), ("ok", 0)]
    assert statuses == ["offered", "waiting"]
    assert slot.booked_count == 2


@pytest.mark.commits  # a race between threads
def test_control_without_the_round_lock_the_second_child_jumps_the_queue(app, queue, monkeypatch):
    from nibog.core import locking

    monkeypatch.setattr(locking.guards, "offer_round_lock", False)
    results, statuses, slot = _two_offer_rounds(app, queue, forced=True)
    # The second round skipped the entry the first had locked and offered the seat to the
    # child behind it; the first then found the seat gone.
    assert results == [("ok", 0), ("ok", 1)]
    assert statuses == ["waiting", "offered"]
    assert slot.booked_count == 2


def test_a_child_booked_meanwhile_is_passed_over(client, queue):
    from nibog.booking.moves import move_item
    from nibog.booking.service import create_booking
    from nibog.waitlist.tasks import offer_waitlist_seats

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
    boundary.commit()
    db.session.get(GameSlot, slot.id).capacity = 3
    db.session.commit()
    # Before the offer round ran, an admin moved the first child's seat into this slot.
    item_id = db.session.scalar(
        sa.select(BookingItem.id).where(BookingItem.booking_id == elsewhere.id))
    move_item(elsewhere.id, item_id, slot.id)
    boundary.commit()
    assert boundary.run_unit(offer_waitlist_seats, slot.id) == 1
    first, second = _state(entry_ids)
    assert (first.status, second.status) == ("cancelled", "offered")
    listed = client.get("/api/waiting-list", headers=auth_headers(parents[0])).get_json()["items"]
    assert listed[0]["closed_reason"] == "already_booked"


def test_a_seat_freed_for_the_queue_is_not_sold_to_whoever_asks_first(client, queue):
    """Between a seat being freed and the offer round giving it to the first child in the
    queue, a direct booking cannot take it: it is told the slot is full and to join the list."""
    from nibog.waitlist.tasks import offer_waitlist_seats

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
    assert refused.get_json()["error"]["message"] == (
        "Seats in this slot go to its waiting list first; join the waiting list")
    # Joining is the way in (the slot has a free seat, but it is the queue's).
    joined = client.post("/api/waiting-list", json={"slot_id": slot.id, "child_id": kid.id},
                         headers=auth_headers(newcomer))
    assert joined.status_code == 201 and joined.get_json()["position"] == 3

    assert boundary.run_unit(offer_waitlist_seats, slot.id) == 1
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


def _edit_slot(admin, slot, **changes):
    from nibog.catalog.admin_service import Actor
    from nibog.catalog.event_admin import update_event

    game = db.session.get(EventGame, slot.event_game_id)
    update_event(game.event_id, {"games": [{"id": game.id, "slots": [{"id": slot.id, **changes}]}]},
                 Actor(admin.id))
    boundary.commit()


def test_reopening_a_closed_slot_offers_the_seat_freed_meanwhile(queue):
    """The seat was freed while the slot was closed (the offer round stops there); reopening
    the slot offers it to the first child waiting."""
    from nibog.booking.service import cancel_booking

    slot, holder, booking_id, parents, entry_ids = queue
    admin = UserFactory(role="admin")
    _edit_slot(admin, slot, is_open=False)
    cancel_booking(booking_id, actor_id=holder.id, by_admin=True)
    boundary.commit()
    assert [e.status for e in _state(entry_ids)] == ["waiting", "waiting"]
    _edit_slot(admin, slot, is_open=True)
    assert [e.status for e in _state(entry_ids)] == ["offered", "waiting"]
    assert db.session.get(GameSlot, slot.id).booked_count == 1


def test_the_periodic_job_offers_a_seat_no_round_was_queued_for(queue):
    """Whatever left a free seat behind a waiting queue (a lost job, say), the periodic job
    offers it."""
    from nibog.waitlist.tasks import expire_waitlist_offers

    slot, _, booking_id, parents, entry_ids = queue
    # The seat freed behind the engine's back: no offer round queued.
    db.session.execute(sa.update(GameSlot).where(GameSlot.id == slot.id).values(capacity=2))
    boundary.commit()
    assert [e.status for e in _state(entry_ids)] == ["waiting", "waiting"]
    boundary.run_unit(expire_waitlist_offers)
    assert [e.status for e in _state(entry_ids)] == ["offered", "waiting"]


def _join_during_a_cancel(app, queue):
    """A parent joins the (emptied) waiting list of the full slot; the holder's cancellation
    runs while the join has read the slot full and not yet written its entry."""
    from nibog.booking.service import cancel_booking
    from nibog.waitlist import entries as waitlist
    from tests.concurrency.race import interleave

    slot, holder, booking_id, parents, entry_ids = queue
    # Empty the queue first, so the freed seat would go to whoever asks.
    for parent, entry_id in zip(parents, entry_ids, strict=True):
        waitlist.leave(parent.id, entry_id)
    boundary.commit()
    joiner = UserFactory()
    child = ChildFactory(parent=joiner)
    boundary.commit()
    joiner_id, child_id, slot_id, holder_id = joiner.id, child.id, slot.id, holder.id
    results = interleave(
        app,
        lambda _: waitlist.join(joiner_id, slot_id, child_id).id,
        lambda _: cancel_booking(booking_id, actor_id=holder_id)[0].status,
        "join_read",
    )
    db.session.expire_all()
    entry = db.session.get(WaitingListEntry, results[0][1]) if results[0][0] == "ok" else None
    return results, entry, db.session.get(GameSlot, slot_id)


@pytest.mark.commits  # a race between threads
def test_joining_waits_for_a_seat_being_freed(app, queue):
    """The cancellation waits for the join's shared lock on the slot, so its offer round finds
    the new entry: the joining child is offered the freed seat."""
    results, entry, slot = _join_during_a_cancel(app, queue)
    assert results[1] == ("ok", "cancelled")
    assert entry is not None and entry.status == "offered"
    assert db.session.get(Booking, entry.offered_booking_id).status == "pending_payment"
    assert slot.booked_count == 1


@pytest.mark.commits  # a race between threads
def test_control_without_the_join_lock_the_freed_seat_is_stranded(app, queue, monkeypatch):
    from nibog.core import locking

    monkeypatch.setattr(locking.guards, "waitlist_join_lock", False)
    results, entry, slot = _join_during_a_cancel(app, queue)
    # The cancel freed the seat and its offer round found nobody waiting; the join, deciding
    # from the full slot it read before, then queued the child: a free seat nobody is offered
    # (and, with a queue, nobody may book).
    assert results[1] == ("ok", "cancelled")
    assert entry is not None and entry.status == "waiting" and entry.offered_booking_id is None
    assert (slot.booked_count, slot.capacity) == (0, 1)


def test_a_seat_owed_to_the_queue_is_not_shown_as_free(client, queue):
    """Until the offer round hands it on, a freed seat in a slot with a waiting list is the
    queue's: booking it is refused, so the event and its slots show the slot full."""
    slot, _, booking_id, parents, entry_ids = queue
    # The seat frees behind the engine's back (no offer round yet).
    db.session.execute(sa.update(GameSlot).where(GameSlot.id == slot.id).values(capacity=2))
    boundary.commit()
    event_id = db.session.get(EventGame, slot.event_game_id).event_id
    detail = client.get(f"/api/events/{event_id}").get_json()
    [shown] = [s for g in detail["games"] for s in g["slots"] if s["id"] == slot.id]
    assert (shown["status"], shown["seats_left"]) == ("full", 0)
    [listed] = [s for s in client.get(f"/api/events/{event_id}/slots").get_json()
                if s["id"] == slot.id]
    assert (listed["status"], listed["seats_left"]) == ("full", 0)

from datetime import timedelta

import pytest

from nibog.booking.models import Booking, WaitingListEntry
from nibog.catalog.models import GameSlot
from nibog.core import boundary
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    UserFactory,
    birth_date_for_age,
    make_booking,
)
from tests.helpers import auth_headers, error_code


@pytest.fixture
def full_slot():
    """A published event's slot with capacity 1, taken by someone else's confirmed booking."""
    event = EventFactory()
    slot = GameSlotFactory(event_game=EventGameFactory(event=event), capacity=1)
    holder = UserFactory()
    booking = make_booking(holder, [(ChildFactory(parent=holder), slot)])
    return slot, booking


def _entries_of(child) -> list:
    return db.session.scalars(
        db.select(WaitingListEntry).where(WaitingListEntry.child_id == child.id)).all()


def _join(client, parent, child, slot):
    return client.post(
        "/api/waiting-list",
        json={"slot_id": slot.id, "child_id": child.id},
        headers=auth_headers(parent),
    )


def test_queue_positions_follow_arrival_order(client, full_slot):
    slot, _ = full_slot
    parents = [UserFactory() for _ in range(3)]
    kids = [ChildFactory(parent=p) for p in parents]
    joined = [_join(client, p, k, slot) for p, k in zip(parents, kids, strict=True)]
    assert [r.status_code for r in joined] == [201, 201, 201]
    assert [r.get_json()["position"] for r in joined] == [1, 2, 3]
    assert all(r.get_json()["status"] == "waiting" for r in joined)

    # The first leaves: everyone behind moves up.
    first_id = joined[0].get_json()["id"]
    assert (
        client.delete(f"/api/waiting-list/{first_id}", headers=auth_headers(parents[0])).status_code
        == 204
    )
    mine = client.get("/api/users/me/waiting-list", headers=auth_headers(parents[2])).get_json()[
        "items"
    ]
    assert [(e["position"], e["status"]) for e in mine] == [(1 + 1, "waiting")]
    assert mine[0]["slot"]["id"] == slot.id and mine[0]["child"]["id"] == kids[2].id
    third_id = joined[2].get_json()["id"]
    one = client.get(f"/api/waiting-list/{third_id}", headers=auth_headers(parents[2]))
    assert one.status_code == 200 and one.get_json()["position"] == 2
    other = client.get(f"/api/waiting-list/{third_id}", headers=auth_headers(parents[1]))
    assert other.status_code == 404
    page = client.get("/api/waiting-list", headers=auth_headers(parents[0])).get_json()
    assert (page["total"], page["page"], page["pages"]) == (1, 1, 1)
    left = page["items"]
    assert [(e["status"], e["position"]) for e in left] == [("cancelled", None)]


def test_a_parents_list_ranks_each_entry_in_its_own_slot(client, full_slot):
    """Positions across several slots, read for the whole list at once: each entry counts only
    the waiting entries of its own slot ahead of it."""
    slot, _ = full_slot
    other_slot = GameSlotFactory(event_game=slot.event_game, capacity=1)
    holder = UserFactory()
    make_booking(holder, [(ChildFactory(parent=holder), other_slot)])
    me, rivals = UserFactory(), [UserFactory() for _ in range(3)]
    mine = [ChildFactory(parent=me), ChildFactory(parent=me)]
    # Two rivals ahead in the first slot, one in the second.
    for rival in rivals[:2]:
        assert _join(client, rival, ChildFactory(parent=rival), slot).status_code == 201
    assert _join(client, rivals[2], ChildFactory(parent=rivals[2]), other_slot).status_code == 201
    assert _join(client, me, mine[0], slot).get_json()["position"] == 3
    assert _join(client, me, mine[1], other_slot).get_json()["position"] == 2
    listed = client.get("/api/users/me/waiting-list", headers=auth_headers(me)).get_json()["items"]
    assert sorted((e["slot"]["id"], e["position"]) for e in listed) == sorted(
        [(slot.id, 3), (other_slot.id, 2)])


def test_join_rules(client, full_slot):
    slot, _ = full_slot
    parent = UserFactory()
    child = ChildFactory(parent=parent)
    assert _join(client, parent, child, slot).status_code == 201
    again = _join(client, parent, child, slot)
    assert again.status_code == 409 and error_code(again) == "already_waitlisted"

    stranger = UserFactory()
    assert _join(client, stranger, child, slot).status_code == 404  # not their child

    open_slot = GameSlotFactory(event_game=EventGameFactory(event=EventFactory()), capacity=3)
    resp = _join(client, parent, child, open_slot)
    assert resp.status_code == 409 and error_code(resp) == "slot_not_full"
    assert resp.get_json()["error"]["details"]["seats_left"] == 3

    baby = ChildFactory(parent=parent, date_of_birth=birth_date_for_age(3))
    resp = _join(client, parent, baby, slot)
    assert resp.status_code == 422 and error_code(resp) == "child_not_eligible"

    assert (
        client.post(
            "/api/waiting-list", json={"slot_id": slot.id, "child_id": child.id}
        ).status_code
        == 401
    )
    resp = client.post("/api/waiting-list", json={"slot_id": slot.id}, headers=auth_headers(parent))
    assert resp.status_code == 422 and "child_id" in resp.get_json()["error"]["details"]


def test_a_child_already_in_the_slot_cannot_queue(client, full_slot):
    slot, booking = full_slot
    holder = db.session.get(Booking, booking.id)
    from nibog.accounts.models import Child, User

    user = db.session.get(User, holder.user_id)
    child = db.session.scalar(db.select(Child).where(Child.user_id == user.id))
    resp = _join(client, user, child, slot)
    assert resp.status_code == 409 and error_code(resp) == "already_booked"
    assert _entries_of(child) == []


def test_closed_registration_cannot_queue(client):
    event = EventFactory(registration_closes_at=utcnow() - timedelta(hours=1))
    slot = GameSlotFactory(event_game=EventGameFactory(event=event), capacity=0)
    parent = UserFactory()
    child = ChildFactory(parent=parent)
    resp = _join(client, parent, child, slot)
    assert resp.status_code == 422 and error_code(resp) == "registration_closed"
    assert _entries_of(child) == []


def test_leaving_someone_elses_entry_is_not_found(client, full_slot):
    slot, _ = full_slot
    parent = UserFactory()
    entry_id = _join(client, parent, ChildFactory(parent=parent), slot).get_json()["id"]
    assert (
        client.delete(
            f"/api/waiting-list/{entry_id}", headers=auth_headers(UserFactory())
        ).status_code
        == 404
    )
    db.session.expire_all()
    assert db.session.get(WaitingListEntry, entry_id).status == "waiting"
    assert db.session.get(WaitingListEntry, entry_id).status == "waiting"


def _free_seat(booking_id: int, slot_id: int, status: str = "cancelled") -> None:
    """What the booking engine does when a booking ends: item not live, seat back."""
    from nibog.booking.models import BookingItem

    db.session.get(Booking, booking_id).status = status
    for item in db.session.scalars(
        db.select(BookingItem).where(BookingItem.booking_id == booking_id)
    ):
        item.is_live = False
    db.session.get(GameSlot, slot_id).booked_count -= 1
    db.session.commit()


def test_freed_seat_goes_to_the_first_entry_then_passes_on(client, full_slot):
    from nibog.waitlist.tasks import expire_waitlist_offers, offer_waitlist_seats

    slot, holder_booking = full_slot
    parents = [UserFactory() for _ in range(2)]
    kids = [ChildFactory(parent=p) for p in parents]
    ids = [_join(client, p, k, slot).get_json()["id"] for p, k in zip(parents, kids, strict=True)]

    _free_seat(holder_booking.id, slot.id)
    assert boundary.run_unit(offer_waitlist_seats, slot.id) == 1
    db.session.expire_all()
    first, second = (db.session.get(WaitingListEntry, i) for i in ids)
    assert (first.status, second.status) == ("offered", "waiting")
    offer = db.session.get(Booking, first.offered_booking_id)
    assert offer.status == "pending_payment" and offer.source == "waitlist"
    assert offer.user_id == parents[0].id
    assert offer.hold_expires_at == first.offer_expires_at > utcnow() + timedelta(minutes=50)
    assert db.session.get(GameSlot, slot.id).booked_count == 1
    note = db.session.scalar(
        db.select(NotificationLog).where(NotificationLog.template == "waitlist_offer")
    )
    assert note.recipient == parents[0].email and note.booking_id == offer.id
    # One message about the offer, not a generic "complete your payment" besides it.
    mails = db.session.scalars(
        db.select(NotificationLog.template).where(
            NotificationLog.booking_id == offer.id, NotificationLog.status != "suppressed"
        )
    ).all()
    assert mails == ["waitlist_offer"]

    # The parent sees the offer, with the held booking to pay.
    listed = client.get("/api/waiting-list", headers=auth_headers(parents[0])).get_json()["items"][
        0
    ]
    assert listed["status"] == "offered" and listed["offered_booking"]["id"] == offer.id

    # Nothing is free any more: another round offers nothing.
    assert boundary.run_unit(offer_waitlist_seats, slot.id) == 0

    # The offer is not taken: its hold ends, the seat passes to the next entry.
    _free_seat(offer.id, slot.id, status="expired")
    boundary.run_unit(expire_waitlist_offers)
    db.session.expire_all()
    first, second = (db.session.get(WaitingListEntry, i) for i in ids)
    assert first.status == "expired"
    assert second.status == "offered"
    assert db.session.get(Booking, second.offered_booking_id).user_id == parents[1].id
    assert db.session.get(GameSlot, slot.id).booked_count == 1


def test_ineligible_entry_is_skipped_not_offered(client, full_slot):
    from nibog.core.audit import AuditLog
    from nibog.waitlist.tasks import offer_waitlist_seats

    slot, holder_booking = full_slot
    early, late = UserFactory(), UserFactory()
    early_kid, late_kid = ChildFactory(parent=early), ChildFactory(parent=late)
    early_id = _join(client, early, early_kid, slot).get_json()["id"]
    late_id = _join(client, late, late_kid, slot).get_json()["id"]
    # The birth date was corrected since: the child is now too young for this game.
    early_kid.date_of_birth = birth_date_for_age(2)
    db.session.commit()

    _free_seat(holder_booking.id, slot.id)
    assert boundary.run_unit(offer_waitlist_seats, slot.id) == 1
    db.session.expire_all()
    assert db.session.get(WaitingListEntry, early_id).status == "cancelled"
    assert db.session.get(WaitingListEntry, late_id).status == "offered"
    skipped = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "waitlist.skipped"))
    assert skipped.after["reason"] == "child_not_eligible"
    listed = client.get("/api/waiting-list", headers=auth_headers(early)).get_json()["items"]
    assert (listed[0]["status"], listed[0]["closed_reason"]) == ("cancelled", "child_not_eligible")


def test_paid_offer_becomes_booked(client, full_slot):
    from nibog.waitlist.tasks import offer_waitlist_seats

    slot, holder_booking = full_slot
    parent = UserFactory()
    entry_id = _join(client, parent, ChildFactory(parent=parent), slot).get_json()["id"]
    _free_seat(holder_booking.id, slot.id)
    boundary.run_unit(offer_waitlist_seats, slot.id)
    entry = db.session.get(WaitingListEntry, entry_id)
    db.session.get(Booking, entry.offered_booking_id).status = "confirmed"
    db.session.commit()
    listed = client.get("/api/waiting-list", headers=auth_headers(parent)).get_json()["items"]
    assert listed[0]["status"] == "booked"


def test_entries_of_a_cancelled_event_are_closed_by_the_periodic_job(client, full_slot):
    from nibog.catalog.models import Event, EventGame
    from nibog.waitlist.tasks import expire_waitlist_offers

    slot, _ = full_slot
    parent = UserFactory()
    entry_id = _join(client, parent, ChildFactory(parent=parent), slot).get_json()["id"]
    event_id = db.session.get(EventGame, slot.event_game_id).event_id
    db.session.get(Event, event_id).status = "cancelled"
    db.session.commit()
    boundary.run_unit(expire_waitlist_offers)
    db.session.expire_all()
    assert db.session.get(WaitingListEntry, entry_id).status == "expired"

from nibog.booking.models import BookingItem
from nibog.catalog.models import GameSlot
from nibog.core.audit import AuditLog
from nibog.extensions import db
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    UserFactory,
    make_booking,
)
from tests.helpers import auth_headers, error_code


def _seats(*slots):
    db.session.expire_all()
    return [db.session.get(GameSlot, s.id).booked_count for s in slots]


def _setup(new_capacity=2):
    event = EventFactory()
    game = EventGameFactory(event=event)
    old = GameSlotFactory(event_game=game, capacity=5)
    new = GameSlotFactory(event_game=game, capacity=new_capacity)
    parent = UserFactory()
    booking = make_booking(parent, [(ChildFactory(parent=parent), old)])
    item = db.session.scalar(db.select(BookingItem).where(BookingItem.booking_id == booking.id))
    return booking, item, old, new


def test_admin_moves_an_item_frees_old_seat_and_takes_new(client):
    booking, item, old, new = _setup()
    resp = client.put(
        f"/api/admin/bookings/{booking.id}",
        json={"move": {"item_id": item.id, "slot_id": new.id}},
        headers=auth_headers(UserFactory(role="admin")),
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["items"][0]["slot"]["id"] == new.id
    assert resp.get_json()["items"][0]["id"] == item.id  # same item: issued tickets stay valid
    assert _seats(old, new) == [0, 1]
    audit = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "booking.move_item"))
    assert audit.before["slot_id"] == old.id and audit.after["slot_id"] == new.id


def test_move_into_a_full_slot_is_refused_and_changes_nothing(client):
    booking, item, old, new = _setup(new_capacity=1)
    other_parent = UserFactory()
    make_booking(other_parent, [(ChildFactory(parent=other_parent), new)])
    resp = client.put(
        f"/api/admin/bookings/{booking.id}",
        json={"move": {"item_id": item.id, "slot_id": new.id}},
        headers=auth_headers(UserFactory(role="admin")),
    )
    assert resp.status_code == 409 and error_code(resp) == "slot_full"
    assert _seats(old, new) == [1, 1]
    assert db.session.get(BookingItem, item.id).slot_id == old.id


def test_move_to_another_events_slot_is_refused(client):
    booking, item, old, _ = _setup()
    foreign = GameSlotFactory()
    resp = client.put(
        f"/api/admin/bookings/{booking.id}",
        json={"move": {"item_id": item.id, "slot_id": foreign.id}},
        headers=auth_headers(UserFactory(role="admin")),
    )
    assert resp.status_code == 422 and error_code(resp) == "slot_not_in_event"
    assert _seats(old, foreign) == [1, 0]


def test_staff_cannot_move(client):
    booking, item, old, new = _setup()
    resp = client.put(
        f"/api/admin/bookings/{booking.id}",
        json={"move": {"item_id": item.id, "slot_id": new.id}},
        headers=auth_headers(UserFactory(role="staff")),
    )
    assert resp.status_code == 403
    assert _seats(old, new) == [1, 0]


def test_attendance_and_result_per_item(client):
    booking, item, old, new = _setup()
    admin = UserFactory(role="admin")
    url = f"/api/admin/bookings/{booking.id}/items/{item.id}"
    resp = client.put(url, json={"result_position": 1}, headers=auth_headers(admin))
    assert resp.status_code == 200
    row = resp.get_json()["items"][0]
    assert row["result_position"] == 1 and row["attendance"] == "attended"
    bad = client.put(url, json={"attendance": "no_show"}, headers=auth_headers(admin))
    assert bad.status_code == 422
    cleared = client.put(
        url, json={"attendance": "no_show", "result_position": None}, headers=auth_headers(admin)
    )
    assert cleared.get_json()["items"][0]["attendance"] == "no_show"
    assert cleared.get_json()["items"][0]["result_position"] is None
    assert (
        client.put(
            url, json={"attendance": "attended"}, headers=auth_headers(UserFactory(role="staff"))
        ).status_code
        == 403
    )

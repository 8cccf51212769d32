from nibog.booking.models import Booking
from nibog.catalog.models import EventGame, GameSlot
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


def _event_id(slot):
    return db.session.get(EventGame, slot.event_game_id).event_id


def _create_body(parent, child, slot, payment_mode):
    return {
        "user_id": parent.id,
        "event_id": _event_id(slot),
        "items": [{"child_id": child.id, "slot_id": slot.id}],
        "payment_mode": payment_mode,
    }


def test_admin_books_for_a_parent_cash_confirms_online_holds(client):
    slot = GameSlotFactory(event_game=EventGameFactory(event=EventFactory()), capacity=5)
    parent = UserFactory()
    kids = [ChildFactory(parent=parent) for _ in range(2)]
    admin = UserFactory(role="admin")

    cash = client.post(
        "/api/admin/bookings",
        json=_create_body(parent, kids[0], slot, "cash"),
        headers=auth_headers(admin),
    )
    assert cash.status_code == 201, cash.get_json()
    body = cash.get_json()
    assert (body["status"], body["source"], body["payment_mode"]) == ("confirmed", "admin", "cash")
    assert body["user"]["id"] == parent.id and body["total"] == 79900

    online = client.post(
        "/api/admin/bookings",
        json=_create_body(parent, kids[1], slot, "online"),
        headers=auth_headers(admin),
    )
    assert online.status_code == 201
    assert online.get_json()["status"] == "pending_payment"
    assert online.get_json()["hold_expires_at"] is not None
    assert db.session.get(GameSlot, slot.id).booked_count == 2
    row = db.session.get(Booking, body["id"])
    assert row.created_by_id == admin.id
    actions = db.session.scalars(db.select(AuditLog.action)).all()
    assert actions.count("booking.admin_create") == 2


def test_admin_create_uses_the_engine_rules(client):
    slot = GameSlotFactory(event_game=EventGameFactory(event=EventFactory()), capacity=1)
    parent = UserFactory()
    child = ChildFactory(parent=parent)
    admin = UserFactory(role="admin")
    body = _create_body(parent, child, slot, "cash")
    assert (
        client.post("/api/admin/bookings", json=body, headers=auth_headers(admin)).status_code
        == 201
    )
    again = client.post("/api/admin/bookings", json=body, headers=auth_headers(admin))
    # The child holds the slot's only seat: "already booked" (with that booking), not "full".
    assert again.status_code == 409 and error_code(again) == "already_booked"
    body["user_id"] = 999999
    assert (
        client.post("/api/admin/bookings", json=body, headers=auth_headers(admin)).status_code
        == 404
    )
    assert db.session.scalar(db.select(db.func.count()).select_from(Booking)) == 1


def test_roles(client):
    slot = GameSlotFactory(event_game=EventGameFactory(event=EventFactory()), capacity=5)
    parent = UserFactory()
    child = ChildFactory(parent=parent)
    booking = make_booking(parent, [(child, slot)])
    body = _create_body(parent, ChildFactory(parent=parent), slot, "cash")
    staff = UserFactory(role="staff")

    assert client.get("/api/admin/bookings").status_code == 401
    assert client.post("/api/admin/bookings", json=body).status_code == 401
    assert client.get("/api/admin/bookings", headers=auth_headers(parent)).status_code == 403
    assert (
        client.get(f"/api/admin/bookings/{booking.id}", headers=auth_headers(parent)).status_code
        == 403
    )
    # Staff read, and check in (tests/checkin), but do not write.
    assert client.get("/api/admin/bookings", headers=auth_headers(staff)).status_code == 200
    assert (
        client.get(f"/api/admin/bookings/{booking.id}", headers=auth_headers(staff)).status_code
        == 200
    )
    assert (
        client.post("/api/admin/bookings", json=body, headers=auth_headers(staff)).status_code
        == 403
    )
    assert (
        client.delete(f"/api/admin/bookings/{booking.id}", headers=auth_headers(staff)).status_code
        == 403
    )
    resp = client.put(
        f"/api/admin/bookings/{booking.id}",
        json={"status": "cancelled"},
        headers=auth_headers(staff),
    )
    assert resp.status_code == 403
    assert db.session.get(Booking, booking.id).status == "confirmed"


def test_search_by_number_phone_email_event_and_status(client):
    event = EventFactory()
    slot = GameSlotFactory(event_game=EventGameFactory(event=event), capacity=10)
    other_slot = GameSlotFactory(event_game=EventGameFactory(event=EventFactory()), capacity=10)
    asha = UserFactory(email="asha.rao@example.com", phone="+919811122233", full_name="Asha Rao")
    ravi = UserFactory(email="ravi@example.com", full_name="Ravi K")
    b1 = make_booking(asha, [(ChildFactory(parent=asha), slot)])
    b2 = make_booking(ravi, [(ChildFactory(parent=ravi), slot)], status="cancelled")
    b3 = make_booking(ravi, [(ChildFactory(parent=ravi), other_slot)], status="pending_payment")
    staff = auth_headers(UserFactory(role="staff"))

    def ids(query):
        resp = client.get(f"/api/admin/bookings?{query}", headers=staff)
        assert resp.status_code == 200, resp.get_json()
        return sorted(b["id"] for b in resp.get_json()["items"])

    assert ids(f"q={b1.booking_number}") == [b1.id]
    assert ids(f"q={b1.booking_number.lower()}") == [b1.id]
    assert ids("q=9811122233") == [b1.id]
    assert ids("q=ASHA.RAO@example.com") == [b1.id]
    assert ids("q=ravi") == [b2.id, b3.id]
    assert ids(f"event_id={event.id}") == [b1.id, b2.id]
    assert ids("status=cancelled") == [b2.id]
    assert ids(f"status=pending_payment&event_id={event.id}") == []
    page = client.get("/api/admin/bookings?per_page=2", headers=staff).get_json()
    assert (page["total"], page["pages"], len(page["items"])) == (3, 2, 2)
    assert page["items"][0]["user"]["email"]
    bad = client.get("/api/admin/bookings?status=lost", headers=staff)
    assert bad.status_code == 422


def test_admin_cancel_frees_the_seat_and_is_audited(client):
    slot = GameSlotFactory(event_game=EventGameFactory(event=EventFactory()), capacity=2)
    parent = UserFactory()
    admin = UserFactory(role="admin")
    created = client.post(
        "/api/admin/bookings",
        json=_create_body(parent, ChildFactory(parent=parent), slot, "cash"),
        headers=auth_headers(admin),
    ).get_json()
    resp = client.delete(
        f"/api/admin/bookings/{created['id']}?reason=duplicate", headers=auth_headers(admin)
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["booking"]["status"] == "cancelled"
    assert resp.get_json()["booking"]["cancel_reason"] == "duplicate"
    assert db.session.get(GameSlot, slot.id).booked_count == 0
    audit = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "booking.admin_cancel"))
    assert audit.actor_id == admin.id
    assert audit.before["status"] == "confirmed" and audit.after["status"] == "cancelled"
    again = client.delete(f"/api/admin/bookings/{created['id']}", headers=auth_headers(admin))
    assert again.status_code == 409 and error_code(again) == "booking_not_cancellable"


def test_admin_marks_an_unpaid_booking_paid(client):
    slot = GameSlotFactory(event_game=EventGameFactory(event=EventFactory()), capacity=2)
    parent = UserFactory()
    admin = UserFactory(role="admin")
    created = client.post(
        "/api/admin/bookings",
        json=_create_body(parent, ChildFactory(parent=parent), slot, "online"),
        headers=auth_headers(admin),
    ).get_json()
    resp = client.put(
        f"/api/admin/bookings/{created['id']}",
        json={"status": "confirmed"},
        headers=auth_headers(admin),
    )
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "confirmed"
    assert resp.get_json()["payment_mode"] == "cash"
    stats = client.get("/api/admin/dashboard/stats", headers=auth_headers(admin)).get_json()
    assert stats["revenue_total"] == 79900 and stats["bookings_total"] == 1
    empty = client.put(f"/api/admin/bookings/{created['id']}", json={}, headers=auth_headers(admin))
    assert empty.status_code == 422


def test_admin_completes_one_booking_after_its_event(client):
    from nibog.core.timeutil import today_ist

    admin = UserFactory(role="admin")
    today = GameSlotFactory(event_game=EventGameFactory(event=EventFactory(event_date=today_ist())),
                            capacity=3)
    parent = UserFactory()
    booking = make_booking(parent, [(ChildFactory(parent=parent), today)])
    held = make_booking(parent, [(ChildFactory(parent=parent), today)], status="pending_payment")
    future = GameSlotFactory(event_game=EventGameFactory(event=EventFactory()), capacity=3)
    early = make_booking(parent, [(ChildFactory(parent=parent), future)])
    db.session.commit()

    def complete(b):
        return client.put(f"/api/admin/bookings/{b.id}", json={"status": "completed"},
                          headers=auth_headers(admin))

    resp = complete(booking)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "completed" and resp.get_json()["completed_at"]
    assert db.session.get(GameSlot, today.id).booked_count == 2, "a completed booking keeps its seat"
    audit = db.session.query(AuditLog).filter_by(action="booking.admin_complete").one()
    assert audit.entity_id == str(booking.id) and audit.before["status"] == "confirmed"
    again = complete(booking)
    assert again.status_code == 200 and again.get_json()["completed_at"] == resp.get_json()["completed_at"]

    refused = complete(held)
    assert refused.status_code == 409 and error_code(refused) == "booking_not_completable"
    too_early = complete(early)
    assert too_early.status_code == 409 and error_code(too_early) == "event_not_held_yet"
    assert db.session.get(Booking, early.id).status == "confirmed"

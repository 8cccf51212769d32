from datetime import timedelta

import pytest

from nibog.booking.models import BookingItem
from nibog.catalog.models import Event
from nibog.checkin.service import check_in
from nibog.core import locking
from nibog.core.audit import AuditLog
from nibog.core.timeutil import today_ist
from nibog.documents.qr import sign_ticket, ticket_data
from nibog.extensions import db
from tests.concurrency.race import interleave, join_all
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    UserFactory,
    make_booking,
)
from tests.helpers import auth_headers, error_code


def _setup(days_from_today=0, status="confirmed", n_children=1):
    event = EventFactory(event_date=today_ist() + timedelta(days=days_from_today))
    slot = GameSlotFactory(event_game=EventGameFactory(event=event))
    parent = UserFactory()
    children = [ChildFactory(parent=parent) for _ in range(n_children)]
    booking = make_booking(parent, [(c, slot) for c in children], status=status)
    items = db.session.scalars(
        db.select(BookingItem).where(BookingItem.booking_id == booking.id)
    ).all()
    return booking, list(items)


def _qr(booking, items):
    return sign_ticket(ticket_data(booking, items))


def test_staff_checks_in_by_qr_and_second_scan_is_409_with_first_time(client):
    booking, items = _setup()
    staff = UserFactory(role="staff")
    payload = _qr(booking, items)

    first = client.post(
        "/api/admin/check-in", json={"qr_payload": payload}, headers=auth_headers(staff)
    )
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["checked_in_item_ids"] == [items[0].id]
    checked_at = body["booking"]["items"][0]["checked_in_at"]
    assert checked_at is not None and checked_at.endswith("+05:30")
    assert body["booking"]["items"][0]["attendance"] == "attended"

    again = client.post(
        "/api/admin/check-in", json={"qr_payload": payload}, headers=auth_headers(staff)
    )
    assert again.status_code == 409
    assert error_code(again) == "already_checked_in"
    assert again.get_json()["error"]["details"]["checked_in_at"] == checked_at
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog)) == 1


def test_check_in_by_booking_number_one_item_at_a_time(client):
    booking, items = _setup(n_children=2)
    admin = UserFactory(role="admin")
    first = client.post(
        "/api/admin/check-in",
        json={"booking_number": booking.booking_number.lower(), "item_id": items[0].id},
        headers=auth_headers(admin),
    )
    assert first.status_code == 200
    assert first.get_json()["checked_in_item_ids"] == [items[0].id]
    # Without item_id the rest of the booking is checked in; the earlier one is reported.
    rest = client.post(
        "/api/admin/check-in",
        json={"booking_number": booking.booking_number},
        headers=auth_headers(admin),
    )
    assert rest.get_json()["checked_in_item_ids"] == [items[1].id]
    assert rest.get_json()["already_checked_in_item_ids"] == [items[0].id]
    repeat = client.post(
        "/api/admin/check-in",
        json={"booking_number": booking.booking_number, "item_id": items[0].id},
        headers=auth_headers(admin),
    )
    assert repeat.status_code == 409 and error_code(repeat) == "already_checked_in"


def _checked_in(items) -> list:
    db.session.expire_all()
    return [db.session.get(BookingItem, item.id).checked_in_at for item in items]


def test_not_event_day_unless_forced(client):
    booking, items = _setup(days_from_today=3)
    staff = UserFactory(role="staff")
    payload = _qr(booking, items)
    resp = client.post(
        "/api/admin/check-in", json={"qr_payload": payload}, headers=auth_headers(staff)
    )
    assert resp.status_code == 422
    assert error_code(resp) == "not_event_day"
    assert db.session.get(BookingItem, items[0].id).checked_in_at is None

    forced = client.post(
        "/api/admin/check-in",
        json={"qr_payload": payload, "force": True},
        headers=auth_headers(staff),
    )
    assert forced.status_code == 200
    db.session.expire_all()
    assert db.session.get(BookingItem, items[0].id).checked_in_at is not None


def test_tampered_or_foreign_qr_is_refused(client):
    booking, items = _setup()
    staff = UserFactory(role="staff")
    payload = _qr(booking, items)
    prefix, body, sig = payload.split(".")
    tampered = f"{prefix}.{body[:-2]}xx.{sig}"
    resp = client.post(
        "/api/admin/check-in", json={"qr_payload": tampered}, headers=auth_headers(staff)
    )
    assert resp.status_code == 422
    assert error_code(resp) == "invalid_ticket"
    assert _checked_in(items) == [None]
    # A validly signed payload for a booking number that does not match the id is not found.
    forged = sign_ticket(
        {"b": booking.id, "n": "NIB-26-AAAAAA", "e": booking.event_id, "i": [items[0].id]}
    )
    resp = client.post(
        "/api/admin/check-in", json={"qr_payload": forged}, headers=auth_headers(staff)
    )
    assert resp.status_code == 404 and error_code(resp) == "not_found"
    assert _checked_in(items) == [None]


def test_only_confirmed_bookings_check_in(client):
    booking, items = _setup(status="pending_payment")
    resp = client.post(
        "/api/admin/check-in",
        json={"booking_number": booking.booking_number},
        headers=auth_headers(UserFactory(role="staff")),
    )
    assert resp.status_code == 409
    assert error_code(resp) == "booking_not_confirmed"
    assert _checked_in(items) == [None]


def test_a_cancelled_events_tickets_do_not_check_in(client):
    """Cancelling the event cancels its bookings in a job; until it has run they still say
    confirmed, and check-in must not admit them."""
    booking, items = _setup()
    event = db.session.get(Event, booking.event_id)
    event.status = "cancelled"
    db.session.commit()
    resp = client.post("/api/admin/check-in", json={"booking_number": booking.booking_number},
                       headers=auth_headers(UserFactory(role="staff")))
    assert resp.status_code == 409 and error_code(resp) == "event_cancelled"
    db.session.expire_all()
    assert [db.session.get(BookingItem, i.id).checked_in_at for i in items] == [None] * len(items)


def test_check_in_roles_and_input(client):
    booking, items = _setup()
    resp = client.post("/api/admin/check-in", json={"booking_number": booking.booking_number})
    assert resp.status_code == 401
    parent = UserFactory()
    resp = client.post(
        "/api/admin/check-in",
        json={"booking_number": booking.booking_number},
        headers=auth_headers(parent),
    )
    assert resp.status_code == 403
    resp = client.post(
        "/api/admin/check-in", json={}, headers=auth_headers(UserFactory(role="staff"))
    )
    assert resp.status_code == 422
    assert "qr_payload" in resp.get_json()["error"]["details"]
    # Whatever a scanner sends, a bad payload is a clear refusal, never a 500.
    resp = client.post(
        "/api/admin/check-in", json={"qr_payload": "NIB1.abc.é"},
        headers=auth_headers(UserFactory(role="staff")),
    )
    assert resp.status_code == 422 and error_code(resp) == "invalid_ticket"


@pytest.mark.commits  # a race between threads
def test_two_scanners_at_once_check_in_once(app):
    import threading

    booking, items = _setup()
    staff = UserFactory(role="staff")
    payload = _qr(booking, items)
    headers = auth_headers(staff)
    barrier = threading.Barrier(2, timeout=30)
    statuses = []

    def scan():
        with app.app_context():
            barrier.wait()
            resp = app.test_client().post(
                "/api/admin/check-in", json={"qr_payload": payload}, headers=headers
            )
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=scan, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    join_all(threads)
    assert sorted(statuses) == [200, 409]


def _scan_twice_interleaved(app):
    """The second scanner scans while the first has read the items and not yet written."""
    booking, items = _setup()
    staff_id, payload = UserFactory(role="staff").id, _qr(booking, items)
    db.session.commit()

    def scan(_):
        return check_in(actor_id=staff_id, qr_payload=payload).checked_in_item_ids

    results = interleave(app, scan, scan, "checkin_read")
    return results, items


@pytest.mark.commits  # a race between threads
def test_a_scan_in_the_middle_of_another_waits_and_hears_already_checked_in(app):
    results, items = _scan_twice_interleaved(app)
    assert results == [("ok", [items[0].id]), ("error", "already_checked_in")]


@pytest.mark.commits  # a race between threads
def test_control_without_the_booking_lock_one_ticket_checks_in_twice(app, monkeypatch):
    monkeypatch.setattr(locking.guards, "checkin_lock", False)
    results, items = _scan_twice_interleaved(app)
    # Both scanners read "not checked in" and both admitted the child.
    assert results == [("ok", [items[0].id]), ("ok", [items[0].id])]

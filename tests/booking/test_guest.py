"""Guest bookings: same engine, lookup by number + e-mail, attach to a later account."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from nibog.accounts.models import Child, User
from nibog.booking.guests import attach_guest_bookings
from nibog.booking.models import Booking
from nibog.catalog.models import GameSlot
from nibog.core import boundary
from nibog.extensions import db
from tests.booking.world import make_world
from tests.factories import UserFactory, birth_date_for_age
from tests.helpers import auth_headers, error_code


def guest_body(w, email="Asha@Example.com", child_age=24, **extra):
    return {
        "guest": {"full_name": "Asha Rao", "email": email, "phone": "+919812345678"},
        "children": [{"full_name": "Anu", "date_of_birth":
                      birth_date_for_age(child_age, w.event.event_date).isoformat()}],
        "event_id": w.event.id,
        "items": [{"child_index": 0, "slot_id": w.slots[0].id}],
        **extra,
    }


def test_guest_books_and_looks_the_booking_up(client):
    w = make_world(n_children=0)
    resp = client.post("/api/bookings/guest", json=guest_body(w))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    booking = body["booking"]
    assert booking["status"] == "pending_payment" and booking["total"] == 79900
    assert len(body["access_code"]) >= 8
    stored = db.session.get(Booking, booking["id"])
    assert stored.user_id is None and stored.guest_email == "asha@example.com"
    assert stored.source == "guest" and stored.access_code_hash != body["access_code"]
    db.session.expire_all()
    assert db.session.get(GameSlot, w.slots[0].id).booked_count == 1
    found = client.post("/api/bookings/guest/lookup",
                        json={"booking_number": booking["booking_number"].lower(),
                              "email": "ASHA@example.com"})
    assert found.status_code == 200 and found.get_json()["booking"]["id"] == booking["id"]
    wrong = client.post("/api/bookings/guest/lookup",
                        json={"booking_number": booking["booking_number"], "email": "x@example.com"})
    assert wrong.status_code == 404


def test_guest_placeholder_cannot_sign_in_and_has_no_email(client):
    w = make_world(n_children=0)
    client.post("/api/bookings/guest", json=guest_body(w))
    owner = db.session.scalar(select(User).join(Child, Child.user_id == User.id))
    assert owner.email is None and owner.password_hash is None and not owner.is_active


def test_same_guest_child_cannot_take_the_same_slot_twice(client):
    w = make_world(n_children=0)
    assert client.post("/api/bookings/guest", json=guest_body(w)).status_code == 201
    again = client.post("/api/bookings/guest", json=guest_body(w, email="asha@example.com"))
    assert again.status_code == 409 and error_code(again) == "already_booked"
    assert db.session.scalar(select(func.count()).select_from(Child)) == 1


def test_guest_validation(client):
    w = make_world(n_children=0)
    bad_index = guest_body(w, items=[{"child_index": 3, "slot_id": w.slots[0].id}])
    assert client.post("/api/bookings/guest", json=bad_index).status_code == 422
    too_old = client.post("/api/bookings/guest", json=guest_body(w, child_age=60))
    assert too_old.status_code == 422 and error_code(too_old) == "child_not_eligible"
    no_email = guest_body(w)
    del no_email["guest"]["email"]
    assert client.post("/api/bookings/guest", json=no_email).status_code == 422


def test_guest_bookings_attach_to_the_account_registered_with_that_email(client):
    w = make_world(n_children=0)
    booking_id = client.post("/api/bookings/guest", json=guest_body(w)).get_json()["booking"]["id"]
    other = client.post("/api/bookings/guest", json=guest_body(w, email="someone@example.com"))
    assert other.status_code == 201
    user = UserFactory(email="asha@example.com")
    assert attach_guest_bookings(user) == 1
    boundary.commit()
    mine = client.get("/api/bookings", headers=auth_headers(user)).get_json()
    assert [b["id"] for b in mine["items"]] == [booking_id]
    assert [c.full_name for c in db.session.scalars(select(Child).where(Child.user_id == user.id))] == ["Anu"]
    assert attach_guest_bookings(user) == 0


def test_guest_cancels_with_the_access_code(client):
    w = make_world(n_children=0)
    body = client.post("/api/bookings/guest", json=guest_body(w)).get_json()
    number = body["booking"]["booking_number"]
    wrong = client.post("/api/bookings/guest/cancel", json={
        "booking_number": number, "email": "asha@example.com", "access_code": "WRONGCODE"})
    assert wrong.status_code == 404
    ok = client.post("/api/bookings/guest/cancel", json={
        "booking_number": number, "email": "asha@example.com", "access_code": body["access_code"]})
    assert ok.status_code == 200 and ok.get_json()["booking"]["status"] == "cancelled"
    db.session.expire_all()
    assert db.session.get(GameSlot, w.slots[0].id).booked_count == 0


def test_a_guest_e_mail_outside_ascii_works_and_reveals_nothing(client):
    """compare_digest refuses non-ASCII str: the lookup must neither fail for such an address
    nor answer differently for an existing booking number than for a missing one."""
    w = make_world(n_children=0)
    resp = client.post("/api/bookings/guest", json=guest_body(w, email="rené@example.com"))
    assert resp.status_code == 201, resp.get_json()
    number = resp.get_json()["booking"]["booking_number"]
    found = client.post("/api/bookings/guest/lookup",
                        json={"booking_number": number, "email": "rené@example.com"})
    assert found.status_code == 200
    wrong = client.post("/api/bookings/guest/lookup",
                        json={"booking_number": number, "email": "ü@example.com"})
    missing = client.post("/api/bookings/guest/lookup",
                          json={"booking_number": "NIB-26-ZZZZZZ", "email": "ü@example.com"})
    assert wrong.status_code == missing.status_code == 404


def test_deleting_the_account_forgets_the_guest_details_of_its_bookings(client):
    """A guest booking attached to an account keeps the guest's name, address and phone on the
    booking; deleting the account removes them too (and the guest lookup finds nothing)."""
    from nibog.accounts.service import deactivate_and_anonymise

    w = make_world(n_children=0)
    body = client.post("/api/bookings/guest", json=guest_body(w)).get_json()
    user = UserFactory(email="asha@example.com")
    attach_guest_bookings(user)
    boundary.commit()
    deactivate_and_anonymise(user)
    boundary.commit()
    db.session.expire_all()
    stored = db.session.get(Booking, body["booking"]["id"])
    assert (stored.guest_name, stored.guest_email, stored.guest_phone) == (None, None, None)
    lookup = client.post("/api/bookings/guest/lookup", json={
        "booking_number": body["booking"]["booking_number"], "email": "asha@example.com"})
    assert lookup.status_code == 404


@pytest.mark.commits  # Idempotency-Key: claimed in a transaction of its own
def test_a_long_guest_address_can_book_with_an_idempotency_key(client):
    w = make_world(n_children=0)
    email = ("a" * 60) + "@example.com"
    headers = {"Idempotency-Key": "guest-long-1"}
    first = client.post("/api/bookings/guest", json=guest_body(w, email=email), headers=headers)
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/bookings/guest", json=guest_body(w, email=email), headers=headers)
    assert again.status_code == 201 and again.get_json() == first.get_json()

"""/api/users/me: read, update (verification resets), delete (anonymise, revoke, release holds)."""

from __future__ import annotations

from nibog.accounts.models import Child, User
from nibog.booking.models import Booking
from nibog.catalog.models import GameSlot
from tests.auth.support import bearer, login, make_booking, make_user
from tests.factories import ChildFactory, CityFactory
from tests.helpers import auth_headers, error_code


def test_get_me_returns_the_contract_user(client):
    user = make_user(email="meera@example.com", phone="+919811111111")
    body = client.get("/api/users/me", headers=auth_headers(user)).get_json()
    assert body["id"] == user.id and body["email"] == "meera@example.com"
    assert body["phone"] == "+919811111111" and body["role"] == "parent"
    assert {"email_verified", "phone_verified", "created_at", "full_name"} <= set(body)


def test_update_name_and_city(client):
    user = make_user()
    city = CityFactory()
    resp = client.put(
        "/api/users/me",
        json={"full_name": " Meera K ", "city_id": city.id},
        headers=auth_headers(user),
    )
    assert resp.status_code == 200
    assert resp.get_json()["full_name"] == "Meera K" and resp.get_json()["city_id"] == city.id
    resp = client.put("/api/users/me", json={"city_id": 999999}, headers=auth_headers(user))
    assert resp.status_code == 422 and "city_id" in resp.get_json()["error"]["details"]


def test_changing_email_or_phone_resets_its_verification(client):
    user = make_user(email="meera@example.com", email_verified=True, phone_verified=True)
    headers = auth_headers(user)
    body = client.put(
        "/api/users/me", json={"full_name": "Same Contacts"}, headers=headers
    ).get_json()
    assert body["email_verified"] is True and body["phone_verified"] is True
    body = client.put(
        "/api/users/me", json={"email": "MEERA@example.com"}, headers=headers
    ).get_json()
    assert body["email_verified"] is True  # same address, only the case differs
    body = client.put(
        "/api/users/me", json={"email": "new@example.com"}, headers=headers
    ).get_json()
    assert body["email"] == "new@example.com" and body["email_verified"] is False
    assert body["phone_verified"] is True
    body = client.put("/api/users/me", json={"phone": "98222 33444"}, headers=headers).get_json()
    assert body["phone"] == "+919822233444" and body["phone_verified"] is False


def test_update_refuses_taken_email_and_phone(client):
    make_user(email="taken@example.com", phone="+919833333333")
    user = make_user()
    resp = client.put(
        "/api/users/me", json={"email": "Taken@example.com"}, headers=auth_headers(user)
    )
    assert resp.status_code == 409 and error_code(resp) == "email_taken"
    resp = client.put("/api/users/me", json={"phone": "+919833333333"}, headers=auth_headers(user))
    assert resp.status_code == 409 and error_code(resp) == "phone_taken"
    me = client.get("/api/users/me", headers=auth_headers(user)).get_json()
    assert (me["email"], me["phone"]) == (user.email, user.phone)


def test_delete_me_anonymises_revokes_and_releases_unpaid_holds(client, db):
    user = make_user(email="meera@example.com", phone="+919844444444")
    child = ChildFactory(parent=user, full_name="Aarav")
    access = login(client, "meera@example.com").get_json()
    paid, _ = make_booking(user, child, status="confirmed")
    hold, hold_slot = make_booking(user, child, status="pending_payment")

    assert client.delete("/api/users/me", headers=bearer(access["access_token"])).status_code == 204

    assert client.get("/api/users/me", headers=bearer(access["access_token"])).status_code == 401
    assert (
        client.post("/api/auth/refresh", headers=bearer(access["refresh_token"])).status_code == 401
    )
    assert login(client, "meera@example.com").status_code == 401
    db.session.expire_all()
    gone = db.session.get(User, user.id)
    assert gone.email is None and gone.phone is None and gone.password_hash is None
    assert gone.full_name == "Deleted user" and gone.is_active is False
    assert db.session.get(Child, child.id).full_name == "Deleted child"
    # Paid booking kept for accounting; the unpaid hold is released with its seat.
    assert db.session.get(Booking, paid.id).status == "confirmed"
    assert db.session.get(Booking, hold.id).status == "cancelled"
    assert db.session.get(GameSlot, hold_slot.id).booked_count == 0
    # The freed email can be registered again.
    resp = client.post(
        "/api/auth/register",
        json={"email": "meera@example.com", "password": "long-enough-pw", "full_name": "New Meera"},
    )
    assert resp.status_code == 201

"""Guest bookings join an account only once that account has proven the mailbox."""

from __future__ import annotations

from urllib.parse import urlparse

from tests.auth.support import bearer
from tests.booking.world import make_world
from tests.factories import birth_date_for_age


def _guest_booking(client, w, email):
    resp = client.post("/api/bookings/guest", json={
        "guest": {"full_name": "Asha Rao", "email": email, "phone": "+919812345678"},
        "children": [{"full_name": "Anu",
                      "date_of_birth": birth_date_for_age(24, w.event.event_date).isoformat()}],
        "event_id": w.event.id,
        "items": [{"child_index": 0, "slot_id": w.slots[0].id}],
    })
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["booking"]


def _my_bookings(client, access):
    return [b["id"] for b in client.get("/api/bookings", headers=bearer(access)).get_json()["items"]]


def test_guest_booking_attaches_after_email_verification_not_before(client, outbox):
    w = make_world(n_children=0)
    booking = _guest_booking(client, w, "asha@example.com")

    reg = client.post("/api/auth/register", json={
        "email": "Asha@Example.com", "password": "long-enough-pw", "full_name": "Asha Rao"})
    assert reg.status_code == 201
    access = reg.get_json()["access_token"]
    # Typing an address into a sign-up form proves nothing: no booking yet.
    assert _my_bookings(client, access) == []

    assert client.post("/api/users/me/verify-email", headers=bearer(access)).status_code == 202
    url = urlparse(outbox.last("verify_email")[1]["verify_url"])
    assert client.get(f"{url.path}?{url.query}").status_code == 200

    assert _my_bookings(client, access) == [booking["id"]]
    children = client.get("/api/users/me/children", headers=bearer(access)).get_json()
    assert [c["full_name"] for c in children["items"]] == ["Anu"]


def test_after_verification_the_same_child_booked_again_as_a_guest_is_already_booked(
        client, outbox):
    """The child moved to the account with its booking; booking it as a guest again with the
    proven address must find it there, not make a second child with a second seat."""
    w = make_world(n_children=0)
    booking = _guest_booking(client, w, "asha@example.com")
    reg = client.post("/api/auth/register", json={
        "email": "asha@example.com", "password": "long-enough-pw", "full_name": "Asha Rao"})
    access = reg.get_json()["access_token"]
    client.post("/api/users/me/verify-email", headers=bearer(access))
    url = urlparse(outbox.last("verify_email")[1]["verify_url"])
    assert client.get(f"{url.path}?{url.query}").status_code == 200
    assert _my_bookings(client, access) == [booking["id"]]

    again = client.post("/api/bookings/guest", json={
        "guest": {"full_name": "Asha Rao", "email": "Asha@example.com", "phone": "+919812345678"},
        "children": [{"full_name": "anu",
                      "date_of_birth": birth_date_for_age(24, w.event.event_date).isoformat()}],
        "event_id": w.event.id,
        "items": [{"child_index": 0, "slot_id": w.slots[0].id}],
    })
    assert again.status_code == 409, again.get_json()
    error = again.get_json()["error"]
    assert error["code"] == "already_booked"
    assert error["details"]["items"][0]["booking_id"] == booking["id"]
    # Another slot is still bookable for that child as a guest.
    other_slot = client.post("/api/bookings/guest", json={
        "guest": {"full_name": "Asha Rao", "email": "asha@example.com", "phone": "+919812345678"},
        "children": [{"full_name": "Anu",
                      "date_of_birth": birth_date_for_age(24, w.event.event_date).isoformat()}],
        "event_id": w.event.id,
        "items": [{"child_index": 0, "slot_id": w.slots[1].id}],
    })
    assert other_slot.status_code == 201, other_slot.get_json()


def test_a_guest_payment_follows_its_booking_into_the_account(client, app, outbox):
    """Paid as a guest (no token, the access code), then the address is verified: the parent
    reads that payment and sees it in the history, like the booking itself."""
    from nibog.payments.gateways.sandbox import SandboxGateway

    w = make_world(n_children=0)
    resp = client.post("/api/bookings/guest", json={
        "guest": {"full_name": "Asha Rao", "email": "asha@example.com", "phone": "+919812345678"},
        "children": [{"full_name": "Anu",
                      "date_of_birth": birth_date_for_age(24, w.event.event_date).isoformat()}],
        "event_id": w.event.id,
        "items": [{"child_index": 0, "slot_id": w.slots[0].id}],
    }).get_json()
    order = client.post("/api/payments/create", json={
        "booking_id": resp["booking"]["id"], "access_code": resp["access_code"]}).get_json()
    paid = SandboxGateway(app.config).simulate_payment(order["provider_order_id"])
    assert client.post("/api/payments/confirm", json={
        "payment_id": order["payment_id"], "provider_payment_id": paid["payment"]["id"],
        "signature": paid["signature"]}).status_code == 200

    reg = client.post("/api/auth/register", json={
        "email": "asha@example.com", "password": "long-enough-pw", "full_name": "Asha Rao"})
    access = reg.get_json()["access_token"]
    client.post("/api/users/me/verify-email", headers=bearer(access))
    url = urlparse(outbox.last("verify_email")[1]["verify_url"])
    assert client.get(f"{url.path}?{url.query}").status_code == 200

    one = client.get(f"/api/payments/{order['payment_id']}", headers=bearer(access))
    assert one.status_code == 200, one.get_json()
    assert one.get_json()["status"] == "captured"
    history = client.get("/api/payments/history", headers=bearer(access)).get_json()
    assert [p["id"] for p in history["items"]] == [order["payment_id"]]

"""Booking without an account, and finding that booking again."""

from __future__ import annotations

from sqlalchemy import select

from nibog.booking.models import Booking
from tests.helpers import html

GUEST = {"full_name": "Meera Iyer", "email": "meera@example.com", "phone": "98450 12345"}


def guest_books(client, world, db):
    e = world.event.id
    resp = client.post(f"/book/{e}/guest", data=GUEST)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/book/{e}/children")
    resp = client.post(f"/book/{e}/children/add",
                       data={"full_name": "Ishaan", "date_of_birth":
                             world.kids[0].date_of_birth.isoformat(), "gender": "male"})
    assert resp.status_code == 302
    assert client.post(f"/book/{e}/children", data={"children": ["g0"]}).status_code == 302
    assert client.post(f"/book/{e}/games",
                       data={"games": [f"g0:{world.crawl.id}"]}).status_code == 302
    client.post(f"/book/{e}/slots", data={f"slot_g0_{world.crawl.id}": world.crawl_slots[0].id})
    client.post(f"/book/{e}/extras", data={f"qty_{world.addon.id}": 0})
    review = html(client.get(f"/book/{e}/review"))
    assert "Booking as Meera Iyer" in review and "Ishaan" in review
    resp = client.post(f"/book/{e}/confirm")
    assert resp.status_code == 302
    booking = db.session.scalars(select(Booking)).one()
    pay = html(client.get(resp.headers["Location"]))
    code = pay.split("Your access code is ")[1].split(".")[0]
    return booking, code


def test_guest_books_and_pays(client, world, db):
    booking, code = guest_books(client, world, db)
    assert booking.user_id is None and booking.guest_email == "meera@example.com"
    assert len(code) == 10
    resp = client.post(f"/book/{booking.id}/pay")
    path = resp.headers["Location"].split("127.0.0.1:5000")[-1]
    client.post(path, data={"action": "pay", "method": "upi"})
    done = html(client.get(f"/book/{booking.id}/done"))
    assert "is confirmed" in done and code in done
    ticket = client.get(f"/book/{booking.id}/ticket")
    assert ticket.status_code == 200 and ticket.data.startswith(b"%PDF")


def test_guest_form_errors_keep_the_values(client, world):
    resp = client.post(f"/book/{world.event.id}/guest",
                       data={"full_name": "Meera", "email": "meera@", "phone": "abc"})
    assert resp.status_code == 422
    page = html(resp)
    assert 'value="meera@"' in page and 'value="abc"' in page
    assert 'id="phone-error"' in page


def test_another_browser_cannot_see_a_guest_booking_without_the_code(client, app, world, db):
    booking, _code = guest_books(client, world, db)
    other = app.test_client()
    assert other.get(f"/book/{booking.id}/pay").status_code == 404
    assert other.get(f"/bookings/{booking.id}").status_code == 404


def test_lookup_by_email_or_phone_then_cancel_with_the_refund_shown(client, app, world, db):
    booking, code = guest_books(client, world, db)
    other = app.test_client()
    resp = other.post("/bookings/lookup", data={
        "booking_number": booking.booking_number.lower(), "contact": "Meera@Example.com",
        "access_code": code.lower()})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/bookings/{booking.id}")
    page = html(other.get(resp.headers["Location"]))
    assert booking.booking_number in page and "Cancel this booking" in page
    assert "Nothing has been paid" in page

    third = app.test_client()
    resp = third.post("/bookings/lookup", data={
        "booking_number": booking.booking_number, "contact": "+91 98450 12345",
        "access_code": code})
    assert resp.status_code == 302

    resp = third.post(f"/bookings/{booking.id}/cancel", data={"reason": "Plans changed"})
    assert resp.status_code == 302
    assert "Your booking is cancelled." in html(third.get(resp.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "cancelled"


def test_paid_guest_booking_cancelled_early_shows_the_full_refund(client, app, world, db):
    booking, code = guest_books(client, world, db)
    resp = client.post(f"/book/{booking.id}/pay")
    client.post(resp.headers["Location"].split("127.0.0.1:5000")[-1], data={"action": "pay"})
    page = html(client.get(f"/bookings/{booking.id}"))
    assert f'data-refund="{booking.total}"' in page and "will be refunded" in page
    resp = client.post(f"/bookings/{booking.id}/cancel", data={"reason": ""})
    assert "will be refunded to your original payment method" in html(
        client.get(resp.headers["Location"]))


def test_lookup_with_wrong_details_is_404_with_values_kept(client, world, db):
    booking, code = guest_books(client, world, db)
    resp = client.post("/bookings/lookup", data={
        "booking_number": booking.booking_number, "contact": "meera@example.com",
        "access_code": "WRONGCODE1"})
    assert resp.status_code == 404
    page = html(resp)
    assert "No booking matches" in page and f'value="{booking.booking_number}"' in page
    resp = client.post("/bookings/lookup", data={"booking_number": "", "contact": "",
                                                 "access_code": ""})
    assert resp.status_code == 422 and "Enter the booking number." in html(resp)


def test_lookup_renders_in_hindi(client):
    client.set_cookie("lang", "hi")
    assert '<html lang="hi">' in html(client.get("/bookings/lookup"))

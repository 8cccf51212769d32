"""Ticket PDFs: they parse, carry the booking's details and a QR code that decodes (zxing-cpp)
to the signed payload check-in verifies."""

from __future__ import annotations

import io

import pypdf
import zxingcpp

from nibog.catalog.models import Venue
from nibog.documents.qr import verify_ticket
from nibog.documents.tickets import render_ticket_pdf
from tests.documents.helpers import make_booking
from tests.helpers import auth_headers, error_code


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _qr_codes(pdf: bytes) -> list[str]:
    found = []
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        for image in page.images:
            found += [code.text for code in zxingcpp.read_barcodes(image.image)]
    return found


def test_ticket_pdf_has_booking_details_and_a_decodable_signed_qr(db):
    booking, info = make_booking(child_names=("Aarav", "Diya"), games=("Baby Crawling", "Running Race"),
                                 addon=("T-shirt", 2, 29900), title="Hyderabad Winter Games")
    pdf = render_ticket_pdf(booking.id)

    text = _text(pdf)
    assert booking.booking_number in text
    assert "Hyderabad Winter Games" in text
    assert db.session.get(Venue, info["event"].venue_id).name in text
    event_date = info["event"].event_date
    assert f"{event_date.day} {event_date:%b %Y}" in text
    for name in ("Aarav", "Diya"):
        assert name in text
    assert f"Baby Crawling {info['event'].id}" in text and "10:00 am - 10:30 am" in text
    assert "11:00 am - 11:30 am" in text
    assert "2 x T-shirt" in text

    codes = _qr_codes(pdf)
    assert len(codes) == 1
    payload = verify_ticket(codes[0])
    assert payload["b"] == booking.id and payload["n"] == booking.booking_number
    assert payload["i"] == sorted(item.id for item in info["items"])


def test_ticket_endpoint_serves_pdf_or_json_to_the_owner_only(client):
    booking, info = make_booking()
    headers = auth_headers(info["user"])

    resp = client.get(f"/api/bookings/{booking.id}/ticket", headers=headers)
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert booking.booking_number in _text(resp.data)

    resp = client.get(f"/api/bookings/{booking.id}/ticket",
                      headers={**headers, "Accept": "application/json"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["booking_number"] == booking.booking_number
    assert verify_ticket(body["qr_payload"])["b"] == booking.id
    assert body["items"][0]["child_name"] == "Aarav"

    from tests.factories import UserFactory

    stranger = auth_headers(UserFactory())
    resp = client.get(f"/api/bookings/{booking.id}/ticket", headers=stranger)
    assert resp.status_code == 404
    assert client.get(f"/api/bookings/{booking.id}/ticket").status_code == 401


def test_unpaid_booking_has_no_ticket(client):
    booking, info = make_booking(status="pending_payment")
    resp = client.get(f"/api/bookings/{booking.id}/ticket", headers=auth_headers(info["user"]))
    assert resp.status_code == 409
    assert error_code(resp) == "ticket_unavailable"

"""Messages go out in the recipient's language: the account's (profile), a guest's when they
booked, English for the NIBOG team."""

from __future__ import annotations

from nibog.core import boundary
from nibog.notifications.service import queue_email
from tests.documents.helpers import make_booking
from tests.factories import UserFactory


def test_a_hindi_parent_gets_the_booking_e_mail_in_hindi(app, smtp_server):
    parent = UserFactory(language="hi", full_name="सुनीता")
    booking, _ = make_booking(user=parent, price=179900)
    queue_email("booking_confirmed", parent.email, {"booking_id": booking.id},
                user_id=parent.id, booking_id=booking.id)
    boundary.commit()
    [mail] = smtp_server.messages
    assert mail["Subject"].startswith("बुकिंग पक्की")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "नमस्ते सुनीता," in text and "बुकिंग नंबर" in text
    assert "₹1,799" in text
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert '<html lang="hi">' in html


def test_an_english_parent_gets_english_and_staff_always_english(app, smtp_server):
    parent = UserFactory(language="en")
    booking, _ = make_booking(user=parent)
    queue_email("booking_confirmed", parent.email, {"booking_id": booking.id},
                user_id=parent.id, booking_id=booking.id)
    queue_email("contact_message", "support@nibog.in", {
        "name": "Asha", "email": "a@example.com", "phone": "", "message": "नमस्ते",
        "language": "hi"})
    boundary.commit()
    confirmed, staff = smtp_server.messages
    assert confirmed["Subject"].startswith("Booking confirmed")
    assert staff["Subject"] == "Contact form: Asha"


def test_a_guest_gets_the_language_they_booked_in(app, client, smtp_server):
    with app.test_request_context("/", headers={"Cookie": "lang=hi"}):
        entry = queue_email("password_reset", "guest@example.com",
                            {"reset_url": "http://127.0.0.1:5000/reset-password?token=x"})
    boundary.commit()
    [mail] = smtp_server.messages
    assert entry.user_id is None and mail["Subject"] == "अपना NIBOG पासवर्ड बदलें"

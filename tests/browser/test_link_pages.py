"""Pages opened from links in our e-mails and SMS, in headless Chromium: the password reset,
the e-mail confirmation landing and a guest's booking link - each photographed at 360 and
1280 px (test-artifacts/screenshots/link-*) and checked with axe-core, in English and Hindi."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

from nibog.auth import service as auth_service
from nibog.booking.access import hash_access_code
from nibog.core import boundary
from nibog.core.timeutil import utcnow
from nibog.notifications import templates as message_templates
from tests.auth import support as auth_support
from tests.auth.support import make_user
from tests.browser.flows import body, fill, html_lang, press
from tests.documents.helpers import make_booking

outbox = auth_support.outbox  # the fixture: what the platform queued to send


def check(browser, screenshot, axe_check, name: str) -> None:
    screenshot(f"link-{name}")
    axe_check(browser)


def _path(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.path}?{parts.query}"


def test_a_parent_resets_the_password_from_the_emailed_link(
        live_server, browser, screenshot, axe_check, outbox):
    user = make_user(email="meera.reset@example.com")
    auth_service.request_password_reset(user.email)
    boundary.commit()
    link = _path(outbox.last("password_reset")[1]["reset_url"])

    browser.get(live_server.url(link))
    assert "Set a new password" in body(browser)
    check(browser, screenshot, axe_check, "01-reset-form")
    fill(browser, password="short", confirm="short")
    press(browser, "Set password")
    assert "Use 8 to 128 characters." in body(browser)
    check(browser, screenshot, axe_check, "02-reset-error")

    press(browser, "हिन्दी")  # back to the same link, in Hindi: the form still works
    assert html_lang(browser) == "hi" and "नया पासवर्ड सेट करें" in body(browser)
    fill(browser, password="fresh-password-1", confirm="fresh-password-2")
    press(browser, "पासवर्ड सेट करें")
    assert "दोनों पासवर्ड अलग हैं।" in body(browser)
    check(browser, screenshot, axe_check, "hi-02-reset-error")
    fill(browser, password="fresh-password-1", confirm="fresh-password-1")
    press(browser, "पासवर्ड सेट करें")
    assert "आपका पासवर्ड बदल गया है" in body(browser)
    check(browser, screenshot, axe_check, "hi-03-reset-done")

    browser.get(live_server.url(link))  # spent
    assert "यह लिंक पहले ही इस्तेमाल हो चुका है" in body(browser)
    check(browser, screenshot, axe_check, "hi-04-reset-used")


def test_a_parent_confirms_the_email_address_from_the_link(
        live_server, browser, screenshot, axe_check, outbox):
    user = make_user(email="meera.verify@example.com", email_verified=False)
    auth_service.request_email_verification(user)
    boundary.commit()
    link = _path(outbox.last("verify_email")[1]["verify_url"])

    browser.get(live_server.url(link))
    assert "meera.verify@example.com is confirmed" in body(browser)
    check(browser, screenshot, axe_check, "05-email-confirmed")
    press(browser, "हिन्दी")
    assert html_lang(browser) == "hi" and "ई-मेल पता पक्का हो गया" in body(browser)
    check(browser, screenshot, axe_check, "hi-05-email-confirmed")
    browser.get(live_server.url(link))  # a second click
    assert "इस लिंक से आपका पता पक्का नहीं हो सकता" in body(browser)
    check(browser, screenshot, axe_check, "hi-06-email-link-used")


def test_a_guest_opens_the_booking_from_the_sms_on_another_phone(
        live_server, browser, screenshot, axe_check):
    booking, _ = make_booking(status="pending_payment", child_names=("Ishaan",))
    booking.hold_expires_at = utcnow() + timedelta(minutes=15)
    booking.user_id = None
    booking.guest_email, booking.guest_name = "meera.guest@example.com", "Meera Iyer"
    booking.access_code_hash = hash_access_code("GUESTC0DE7")
    boundary.commit()
    with live_server.app.app_context():
        ctx = message_templates.build_context({"booking_id": booking.id}, booking_id=booking.id,
                                              user_id=None, language="en")
    browser.get(live_server.url(_path(ctx["pay_url"])))
    assert urlparse(browser.current_url).path == f"/book/{booking.id}/pay"
    assert "code=" not in browser.current_url
    assert f"Pay for booking {booking.booking_number}" in body(browser)
    check(browser, screenshot, axe_check, "07-guest-pay-from-sms")
    browser.get(live_server.url(_path(ctx["booking_url"])))
    assert urlparse(browser.current_url).path == f"/bookings/{booking.id}"
    assert "Cancel this booking" in body(browser)
    check(browser, screenshot, axe_check, "08-guest-booking-from-email")


def test_the_error_page_speaks_hindi(live_server, browser, screenshot, axe_check):
    browser.get(live_server.url("/bookings/lookup"))
    press(browser, "हिन्दी")
    browser.get(live_server.url("/events/1/favourite"))  # a form's address, opened as a page
    assert html_lang(browser) == "hi"
    assert "यह पेज इस तरह नहीं खोला जा सकता।" in body(browser)
    check(browser, screenshot, axe_check, "hi-09-error-page")

"""A parent's account and the content pages in headless Chromium: every page photographed at
360 and 1280 px (test-artifacts/screenshots/account-*) and checked with axe-core (0 serious or
critical violations), in English and in Hindi."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nibog import waitlist
from nibog.accounts.models import UserFavorite
from nibog.catalog.models import GameSlot
from nibog.content.models import ContentPage, Faq
from nibog.core import boundary
from nibog.core.timeutil import today_ist, utcnow
from nibog.extensions import db
from nibog.payments.models import Payment
from tests.browser.flows import body, downloaded_pdf, fill, html_lang, press, submit_css, tick
from tests.documents.helpers import make_booking
from tests.factories import PASSWORD, ChildFactory, CityFactory, EventFactory, UserFactory


class Family:
    """A parent with two children, a paid booking ahead, a finished event with certificates,
    a favourite, and a seat offered from the waiting list."""

    def __init__(self):
        city = CityFactory(name="Hyderabad")
        self.parent = UserFactory(full_name="Asha Rao", email="asha@example.com",
                                  city_id=city.id)
        ahead = EventFactory(title="Hyderabad Baby Olympics",
                             event_date=today_ist() + timedelta(days=30))
        self.paid, info = make_booking(user=self.parent, event=ahead,
                                       child_names=("Aarav Rao", "दिया राव"),
                                       games=("Baby Crawling",), addon=("T-shirt (M)", 1, 29900))
        db.session.add(Payment(booking_id=self.paid.id, user_id=self.parent.id,
                               provider="sandbox", provider_order_id="order_demo_1",
                               provider_payment_id="pay_demo_1", amount=self.paid.total,
                               amount_refunded=0, status="captured", method="upi",
                               captured_at=utcnow()))
        past = EventFactory(title="Pune Winter Games", status="completed",
                            event_date=today_ist() - timedelta(days=3))
        self.done, _ = make_booking(user=self.parent, event=past, status="completed",
                                    child_names=("Kabir Rao",), games=("Running Race",))
        db.session.add(UserFavorite(user_id=self.parent.id, event_id=ahead.id))
        full = make_booking(event=ahead, games=("Baby Walker",))[1]["slots"][0]
        full.capacity = 1
        child = ChildFactory(parent=self.parent, full_name="Meera Rao")
        boundary.commit()
        self.entry = waitlist.join(self.parent.id, full.id, child.id)
        boundary.commit()
        slot = db.session.get(GameSlot, full.id)
        slot.capacity = 2  # a seat frees up: offered to Meera
        boundary.commit()
        boundary.run_unit(waitlist.offer_seats, full.id)
        for slug, title in (("about", "About NIBOG"), ("terms", "Terms of use"),
                            ("privacy", "Privacy"), ("refund-policy", "Refund policy")):
            db.session.add(ContentPage(slug=slug, title=title, body_html=(
                "<p>NIBOG runs baby olympics in cities across India.</p>"
                "<h2>Refunds</h2><p>Full refund up to 48 hours before the event.</p>")))
        db.session.add(Faq(question="Can I cancel?", answer="Yes, up to 48 hours before."))
        boundary.commit()


@pytest.fixture
def family(app):
    return Family()


def check(browser, screenshot, axe_check, name: str) -> None:
    screenshot(f"account-{name}")
    axe_check(browser)


def sign_in(browser, live_server, email: str) -> None:
    browser.get(live_server.url("/login?next=/account"))
    fill(browser, email=email, password=PASSWORD)
    submit_css(browser, "main form button[type=submit]")
    assert browser.current_url.endswith("/account"), browser.current_url


def test_a_parent_goes_through_every_account_page(live_server, browser, screenshot, axe_check,
                                                  family):
    sign_in(browser, live_server, family.parent.email)
    assert "Hello, Asha Rao" in body(browser) and "Hyderabad Baby Olympics" in body(browser)
    check(browser, screenshot, axe_check, "01-overview")

    browser.get(live_server.url(f"/account/bookings/{family.paid.id}"))
    page = body(browser)
    assert "दिया राव" in page and "1 × T-shirt (M)" in page and "Paid" in page
    assert "If you cancel now, you get ₹1,897 back." in page
    check(browser, screenshot, axe_check, "02-booking")
    press(browser, "Download the ticket (PDF)", navigates=False)
    assert downloaded_pdf(browser).startswith(b"%PDF")

    press(browser, "Cancel booking…")
    assert "Refund: ₹1,897" in body(browser)
    check(browser, screenshot, axe_check, "03-cancel")
    fill(browser, reason="Aarav has a fever")
    press(browser, "Cancel booking")
    assert "A refund of ₹1,897 is on its way" in body(browser)
    check(browser, screenshot, axe_check, "04-cancelled")

    browser.get(live_server.url(f"/account/bookings/{family.done.id}"))
    assert "Certificate of Kabir Rao (PDF)" in body(browser)
    check(browser, screenshot, axe_check, "05-past-booking")
    press(browser, "Publish review")  # no rating chosen: the error, values kept
    assert "Choose a rating." in body(browser)
    check(browser, screenshot, axe_check, "06-review-error")
    tick(browser, "5")
    fill(browser, comment="Kabir loved the race!")
    press(browser, "Publish review")
    assert "Your review is published" in body(browser)

    browser.get(live_server.url("/account/bookings"))
    check(browser, screenshot, axe_check, "07-bookings")

    browser.get(live_server.url("/account/children"))
    check(browser, screenshot, axe_check, "08-children")
    fill(browser, full_name="Ira Rao", date_of_birth=(today_ist() + timedelta(days=3)).isoformat())
    press(browser, "Add child")
    assert "cannot be in the future" in body(browser)
    check(browser, screenshot, axe_check, "09-child-error")
    fill(browser, date_of_birth=(today_ist() - timedelta(days=500)).isoformat())
    press(browser, "Add child")
    assert "Ira Rao is added" in body(browser)
    press(browser, "Edit Ira Rao")
    check(browser, screenshot, axe_check, "10-child-edit")

    browser.get(live_server.url("/account/waiting-list"))
    assert "A seat is held for Meera Rao until" in body(browser)
    check(browser, screenshot, axe_check, "11-waiting-list")
    press(browser, "Accept: pay")
    assert "/pay" in browser.current_url

    for path, name in (("/account/favorites", "12-favourites"), ("/account/profile", "13-profile"),
                       ("/account/password", "14-password"), ("/account/delete", "15-delete")):
        browser.get(live_server.url(path))
        check(browser, screenshot, axe_check, name)

    browser.get(live_server.url("/account/profile"))
    fill(browser, full_name="", phone="12")
    press(browser, "Save")
    assert "Enter your name." in body(browser)
    check(browser, screenshot, axe_check, "16-profile-error")


def test_account_and_content_pages_in_hindi(live_server, browser, screenshot, axe_check, family):
    sign_in(browser, live_server, family.parent.email)
    press(browser, "हिन्दी")
    assert html_lang(browser) == "hi" and "नमस्ते, Asha Rao" in body(browser)
    check(browser, screenshot, axe_check, "hi-01-overview")
    browser.get(live_server.url(f"/account/bookings/{family.paid.id}"))
    assert "धनवापसी" in body(browser) or "रद्द" in body(browser)
    check(browser, screenshot, axe_check, "hi-02-booking")
    browser.get(live_server.url(f"/account/bookings/{family.paid.id}/cancel"))
    check(browser, screenshot, axe_check, "hi-03-cancel")
    browser.get(live_server.url("/account/children"))
    check(browser, screenshot, axe_check, "hi-04-children")
    browser.get(live_server.url("/account/profile"))
    check(browser, screenshot, axe_check, "hi-05-profile")


def test_content_pages(live_server, browser, screenshot, axe_check, family):
    for path, name in (("/about", "content-about"), ("/refund-policy", "content-refund"),
                       ("/faq", "content-faq"), ("/contact", "content-contact")):
        browser.get(live_server.url(path))
        check(browser, screenshot, axe_check, name)
    fill(browser, name="Asha", email="asha@example.com", message="short")
    press(browser, "Send message")
    assert "Write at least 10 characters" in body(browser)
    check(browser, screenshot, axe_check, "content-contact-error")
    fill(browser, message="When is the next event in Pune?")
    press(browser, "Send message")
    assert "Your message has reached the NIBOG team" in body(browser)

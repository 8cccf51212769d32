"""End to end in headless Chromium: a registered parent's whole flow in Hindi, the pages the other
flows do not reach (waiting list, an expired hold, forms with errors), and tap targets on a
360 px phone. Labels are looked up in the Hindi catalogue, so a changed translation changes
what the test presses, not whether it passes."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from functools import cache

import pypdf
import pytest
from babel.support import Translations
from selenium.webdriver.common.by import By
from sqlalchemy import select, update

from nibog.booking.models import Booking
from nibog.catalog.models import GameSlot
from nibog.core import boundary
from nibog.core.money import format_inr
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from tests.browser.conftest import ROOT, wait_for
from tests.browser.flows import (
    PHONE_AXE_TAGS,
    TAP_PX,
    Fair,
    body,
    choose,
    downloaded_pdf,
    fill,
    html_lang,
    press,
    qr_codes,
    small_tap_targets,
    submit_click,
    submit_css,
    tick,
)


@cache
def _hindi() -> Translations:
    return Translations.load(str(ROOT / "translations" / "site"), ["hi"])


def hi(message: str, **values) -> str:
    text = _hindi().gettext(message)
    assert text != message or not re.search("[A-Za-z]", message), f"no Hindi for {message!r}"
    return text % values if values else text


@pytest.fixture
def fair(app):
    return Fair()


@pytest.fixture
def phone_check(browser, screenshot, axe_check):
    """``phone_check(name)``: screenshots at 360 and 1280 px, axe with WCAG 2.2's target size,
    and every tap target at least 44 px tall at 360 px."""

    def check(name: str) -> None:
        screenshot(name)
        axe_check(browser, tags=PHONE_AXE_TAGS)
        small = small_tap_targets(browser)
        assert not small, f"{name}: tap targets under {TAP_PX}px at 360px:\n" + "\n".join(small)

    return check


def _pay_in_sandbox(browser) -> None:
    assert "/payments/sandbox/checkout/" in browser.current_url
    submit_css(browser, "button[value=pay]")
    wait_for(lambda: "Payment captured" in body(browser))
    press(browser, "Return to NIBOG")


def test_registered_parent_books_pays_downloads_and_cancels_in_hindi(
        live_server, browser, phone_check, fair):
    browser.get(live_server.url("/"))
    press(browser, "हिन्दी")
    assert html_lang(browser) == "hi"
    browser.get(live_server.url(fair.page))
    press(browser, hi("Book now"))
    phone_check("hindi-parent-01-who")
    press(browser, hi("Create an account"))
    phone_check("hindi-parent-02-register")
    fill(browser, full_name="आशा राव", email="asha.hi@example.com", phone="98765 43211",
         password="a-long-password", confirm="a-long-password")
    press(browser, hi("Create account"))

    assert "/children" in browser.current_url and html_lang(browser) == "hi"
    fill(browser, full_name="आरव राव", date_of_birth=fair.toddler_birth.isoformat())
    choose(browser, "gender", hi("Boy"))
    press(browser, hi("Add child"))
    phone_check("hindi-parent-03-children")
    press(browser, hi("Next: choose games"))

    child_key = browser.find_element(By.CSS_SELECTOR, "input[name=games]").get_attribute(
        "value").split(":")[0]
    assert hi("Too young: this game is for %(lo)s–%(hi)s months.", lo=49, hi=84) in body(browser)
    phone_check("hindi-parent-04-games")
    for game in fair.games[:2]:  # Baby Crawling and Baby Walker
        tick(browser, f"{child_key}:{game.id}")
    press(browser, hi("Next: choose times"))
    phone_check("hindi-parent-05-slots")
    names = sorted({r.get_attribute("name")
                    for r in browser.find_elements(By.CSS_SELECTOR, "input[type=radio]")})
    for n, name in enumerate(names):  # each game at its own hour
        option = browser.find_elements(By.CSS_SELECTOR, f"input[type=radio][name='{name}']")[n]
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", option)
        option.click()
    press(browser, hi("Next"))
    phone_check("hindi-parent-06-extras")
    press(browser, hi("Next: review"))
    total = format_inr(79900 + 69900, "hi")
    assert total in body(browser)
    phone_check("hindi-parent-07-review")
    press(browser, hi("Hold seats and pay %(total)s", total=total))

    assert "/pay" in browser.current_url
    wait_for(lambda: hi("Time left:") in body(browser))
    phone_check("hindi-parent-08-pay")
    press(browser, hi("Pay %(total)s", total=total))
    _pay_in_sandbox(browser)

    assert html_lang(browser) == "hi" and hi("You're booked!") in body(browser)
    phone_check("hindi-parent-09-confirmed")
    press(browser, hi("Download ticket (PDF)"), navigates=False)
    pdf = downloaded_pdf(browser)
    assert qr_codes(pdf), "the ticket carries a QR code"
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    # Downloaded from a Hindi page: the date in Hindi, the times the Indian way.
    assert "10:00 am - 10:30 am" in text and "11:00 am - 11:30 am" in text
    # Its labels are Hindi too, and the event's month is not written in English anywhere.
    assert "Date:" not in text and "Venue:" not in text
    assert fair.event.event_date.strftime("%b") not in text

    booking = db.session.scalars(select(Booking).order_by(Booking.id.desc())).first()
    assert booking.status == "confirmed"
    browser.get(live_server.url(f"/account/bookings/{booking.id}/cancel"))
    assert format_inr(booking.total, "hi") in body(browser)
    phone_check("hindi-parent-10-cancel")
    press(browser, hi("Cancel booking"))
    assert html_lang(browser) == "hi"
    phone_check("hindi-parent-11-cancelled")
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "cancelled"


def _register(browser, live_server, email: str) -> None:
    browser.get(live_server.url("/register"))
    fill(browser, full_name="Ravi Kumar", email=email, password="a-long-password",
         confirm="a-long-password")
    press(browser, "Create account")


def test_waiting_list_page_passes_axe_and_tap_targets(live_server, browser, phone_check, fair):
    full = fair.slots["Baby Crawling"][0]
    db.session.execute(update(GameSlot).where(GameSlot.id == full.id).values(capacity=0))
    boundary.commit()
    _register(browser, live_server, "ravi.wait@example.com")
    browser.get(live_server.url(f"/book/{fair.event.id}/children"))
    fill(browser, full_name="Kiara Kumar", date_of_birth=fair.toddler_birth.isoformat())
    press(browser, "Add child")
    press(browser, "Next: choose games")
    child_key = browser.find_element(By.CSS_SELECTOR, "input[name=games]").get_attribute(
        "value").split(":")[0]
    tick(browser, f"{child_key}:{fair.games[0].id}")
    press(browser, "Next: choose times")
    assert "Full" in body(browser)
    phone_check("page-slots-with-full")
    press(browser, "Join the waiting list")
    phone_check("page-waitlist-join")
    submit_click(browser, browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    phone_check("page-waitlist-joined")


def test_expired_hold_pay_page_passes_axe_and_offers_to_book_again(
        live_server, browser, phone_check, fair):
    _register(browser, live_server, "ravi.late@example.com")
    browser.get(live_server.url(f"/book/{fair.event.id}/children"))
    fill(browser, full_name="Kiara Kumar", date_of_birth=fair.toddler_birth.isoformat())
    press(browser, "Add child")
    press(browser, "Next: choose games")
    child_key = browser.find_element(By.CSS_SELECTOR, "input[name=games]").get_attribute(
        "value").split(":")[0]
    tick(browser, f"{child_key}:{fair.games[0].id}")
    press(browser, "Next: choose times")
    browser.find_element(By.CSS_SELECTOR, "input[type=radio]").click()
    press(browser, "Next")
    press(browser, "Next: review")
    press(browser, "Hold seats and pay")
    booking = db.session.scalars(select(Booking).order_by(Booking.id.desc())).first()
    db.session.execute(update(Booking).where(Booking.id == booking.id)
                       .values(hold_expires_at=utcnow() - timedelta(minutes=1)))
    boundary.commit()
    browser.refresh()
    assert "Your hold has expired." in body(browser)
    phone_check("page-pay-expired")
    press(browser, "Book again")
    assert "/review" in browser.current_url
    phone_check("page-book-again-review")


def test_forms_with_errors_pass_axe(live_server, browser, phone_check, fair):
    browser.get(live_server.url("/register"))
    fill(browser, full_name="", email="not-an-email", password="short", confirm="other")
    press(browser, "Create account")
    assert "Enter your name." in body(browser)
    assert browser.find_element(By.NAME, "email").get_attribute("value") == "not-an-email"
    phone_check("page-register-errors")

    browser.get(live_server.url("/events?date_from=2030-05-10&date_to=2030-05-01"))
    assert "The end date is before the start date." in body(browser)
    phone_check("page-events-filter-error")

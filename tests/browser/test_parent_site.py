"""End to end in headless Chromium: the parent site as families use it.

Each page of the flows is checked with axe-core (0 serious or critical violations) and
photographed at 360 and 1280 px into test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select

from nibog.booking.models import Booking
from nibog.extensions import db
from tests.browser.conftest import wait_for
from tests.browser.flows import (
    PHONE_AXE_TAGS,
    TAP_PX,
    Fair,
    body,
    choose,
    downloaded_pdf,
    fill,
    first_radio,
    html_lang,
    press,
    qr_codes,
    small_tap_targets,
    submit_click,
    submit_css,
    tick,
)


@pytest.fixture
def fair(app):
    return Fair()


def check(browser, screenshot, axe_check, name: str) -> None:
    screenshot(name)
    axe_check(browser, tags=PHONE_AXE_TAGS)
    small = small_tap_targets(browser)
    assert not small, f"{name}: tap targets under {TAP_PX}px at 360px:\n" + "\n".join(small)


def pay_in_sandbox(browser, screenshot, axe_check, name: str) -> None:
    assert "/payments/sandbox/checkout/" in browser.current_url
    check(browser, screenshot, axe_check, f"{name}-sandbox")
    submit_css(browser, "button[value=pay]")
    wait_for(lambda: "Payment captured" in body(browser))
    press(browser, "Return to NIBOG")


def book_toddler_games(browser, fair, screenshot, axe_check, prefix: str, *, games, slot=0):
    """From the games step to the pay page; returns the booking id."""
    child_key = browser.find_element(By.CSS_SELECTOR, "input[name=games]").get_attribute(
        "value").split(":")[0]
    check(browser, screenshot, axe_check, f"{prefix}-games")
    for game in games:
        event_game = next(g for g in fair.games if g.template.name == game)
        tick(browser, f"{child_key}:{event_game.id}")
    press(browser, "Next: choose times")
    check(browser, screenshot, axe_check, f"{prefix}-slots")
    radios = browser.find_elements(By.CSS_SELECTOR, "input[type=radio]")
    names = sorted({r.get_attribute("name") for r in radios})
    for n, name in enumerate(names):
        # One child plays one game at a time: each game at its own hour.
        options = browser.find_elements(By.CSS_SELECTOR, f"input[type=radio][name='{name}']")
        option = options[(slot + n) % len(options)]
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", option)
        option.click()
    press(browser, "Next")
    check(browser, screenshot, axe_check, f"{prefix}-extras")
    choose(browser, f"variant_{fair.variant.addon_id}", fair.variant.name)
    fill(browser, **{f"qty_{fair.variant.addon_id}": "1"})
    press(browser, "Next: review")
    check(browser, screenshot, axe_check, f"{prefix}-review")


def test_new_parent_registers_books_two_games_pays_gets_ticket_and_cancels_another(
    live_server, browser, screenshot, axe_check, fair
):
    browser.get(live_server.url("/"))
    assert html_lang(browser) == "en"
    check(browser, screenshot, axe_check, "parent-01-home")

    press(browser, "Hyderabad Baby Olympics")
    assert browser.current_url.endswith(fair.page)
    assert "Baby Crawling" in body(browser) and "10 seats left" in body(browser)
    check(browser, screenshot, axe_check, "parent-02-event")

    press(browser, "Book now")
    check(browser, screenshot, axe_check, "parent-03-who")
    press(browser, "Create an account")
    check(browser, screenshot, axe_check, "parent-04-register")
    fill(browser, full_name="Asha Rao", email="asha@example.com", phone="98765 43210",
         password="a-long-password", confirm="a-long-password")
    press(browser, "Create account")

    # Straight back into the booking: no child yet, so the add-child form.
    assert "/children" in browser.current_url
    check(browser, screenshot, axe_check, "parent-05-children-empty")
    fill(browser, full_name="Aarav Rao", date_of_birth=fair.toddler_birth.isoformat())
    choose(browser, "gender", "Boy")
    press(browser, "Add child")
    assert "Aarav Rao is added" in body(browser)
    check(browser, screenshot, axe_check, "parent-06-children")
    press(browser, "Next: choose games")

    # The big kids' race is listed as not available, with the reason.
    assert "Too young: this game is for 49–84 months." in body(browser)
    book_toddler_games(browser, fair, screenshot, axe_check, "parent-07",
                       games=("Baby Crawling", "Baby Walker"))
    fill(browser, code="EARLY10")
    press(browser, "Apply")
    assert "Promo code applied" in body(browser)
    # 799 + 699 + 299 = 1,797; 10 % off = 1,617.30
    assert "₹1,617.30" in body(browser)
    press(browser, "Hold seats and pay")

    assert "/pay" in browser.current_url
    wait_for(lambda: re.search(r"Time left: \d+:\d\d", body(browser)))
    check(browser, screenshot, axe_check, "parent-08-pay")
    press(browser, "Pay ₹1,617.30")
    pay_in_sandbox(browser, screenshot, axe_check, "parent-09")

    assert "/done" in browser.current_url and "You're booked!" in body(browser)
    check(browser, screenshot, axe_check, "parent-10-confirmed")
    press(browser, "Download ticket (PDF)", navigates=False)
    pdf = downloaded_pdf(browser)
    assert pdf.startswith(b"%PDF") and qr_codes(pdf), "the ticket carries a QR code"

    # A second booking, paid, then cancelled more than 48 hours ahead: a full refund.
    browser.get(live_server.url(f"/book/{fair.event.id}"))
    press(browser, "Next: choose games")
    book_toddler_games(browser, fair, screenshot, axe_check, "parent-11",
                       games=("Baby Crawling",), slot=2)
    press(browser, "Hold seats and pay")
    press(browser, "Pay ₹1,098")
    pay_in_sandbox(browser, screenshot, axe_check, "parent-12")
    second_id = int(browser.current_url.split("/book/")[1].split("/")[0])

    browser.get(live_server.url(f"/account/bookings/{second_id}/cancel"))
    assert "₹1,098" in body(browser)
    check(browser, screenshot, axe_check, "parent-13-cancel")
    press(browser, "Cancel booking")
    assert "₹1,098" in body(browser) and "cancelled" in body(browser).lower()
    check(browser, screenshot, axe_check, "parent-14-cancelled")


def guest_booking(browser, live_server, fair, screenshot, axe_check, prefix: str,
                  *, labels: dict) -> tuple[str, str]:
    """A guest books one game and pays; returns (booking number, access code)."""
    browser.get(live_server.url(fair.page))
    press(browser, labels["book"])
    check(browser, screenshot, axe_check, f"{prefix}-who")
    fill(browser, full_name="Meera Iyer", email="meera@example.com", phone="98450 12345")
    press(browser, labels["guest"])
    fill(browser, full_name="Ishaan Iyer", date_of_birth=fair.toddler_birth.isoformat())
    press(browser, labels["add_child"])
    check(browser, screenshot, axe_check, f"{prefix}-children")
    press(browser, labels["to_games"])
    tick(browser, f"g0:{fair.games[0].id}")
    check(browser, screenshot, axe_check, f"{prefix}-games")
    press(browser, labels["to_slots"])
    first_radio(browser, f"slot_g0_{fair.games[0].id}")
    check(browser, screenshot, axe_check, f"{prefix}-slots")
    press(browser, labels["next"])
    press(browser, labels["to_review"])  # extras: none wanted
    check(browser, screenshot, axe_check, f"{prefix}-review")
    press(browser, labels["hold"])
    check(browser, screenshot, axe_check, f"{prefix}-pay")
    code = re.search(r"\b([A-Z0-9]{10})\b", browser.find_element(
        By.CSS_SELECTOR, ".alert-info").text).group(1)
    submit_click(browser, browser.find_element(By.CSS_SELECTOR, "form[data-hold-form] button"))
    pay_in_sandbox(browser, screenshot, axe_check, prefix)
    check(browser, screenshot, axe_check, f"{prefix}-confirmed")
    booking = db.session.scalars(select(Booking).order_by(Booking.id.desc())).first()
    return booking.booking_number, code


ENGLISH = {"book": "Book now", "guest": "Continue as guest", "add_child": "Add child",
           "to_games": "Next: choose games", "to_slots": "Next: choose times", "next": "Next",
           "to_review": "Next: review", "hold": "Hold seats and pay", "find": "Find booking",
           "cancel": "Cancel booking"}
HINDI = {"book": "अभी बुक करें", "guest": "अतिथि के रूप में आगे बढ़ें", "add_child": "बच्चा जोड़ें",
         "to_games": "आगे: खेल चुनें", "to_slots": "आगे: समय चुनें", "next": "आगे",
         "to_review": "आगे: जाँच करें", "hold": "सीटें रोकें", "find": "बुकिंग खोजें",
         "cancel": "बुकिंग रद्द करें"}


def find_and_cancel(browser, live_server, screenshot, axe_check, prefix, number, code, labels):
    browser.get(live_server.url("/bookings/lookup"))
    check(browser, screenshot, axe_check, f"{prefix}-lookup")
    fill(browser, booking_number=number, contact="98450 12345", access_code=code)
    press(browser, labels["find"])
    assert number in body(browser)
    assert "₹799" in body(browser)
    check(browser, screenshot, axe_check, f"{prefix}-found")
    press(browser, labels["cancel"])
    assert "₹799" in body(browser)
    check(browser, screenshot, axe_check, f"{prefix}-cancelled")


def test_guest_books_pays_and_finds_the_booking_again_to_cancel_it(
    live_server, browser, screenshot, axe_check, fair
):
    number, code = guest_booking(browser, live_server, fair, screenshot, axe_check,
                                 "guest", labels=ENGLISH)
    # Another day, another browser session: only the booking's details.
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    find_and_cancel(browser, live_server, screenshot, axe_check, "guest", number, code, ENGLISH)
    assert "will be refunded" in body(browser)


def test_the_same_flow_in_hindi(live_server, browser, screenshot, axe_check, fair):
    browser.get(live_server.url("/"))
    press(browser, "हिन्दी")
    assert html_lang(browser) == "hi"
    assert "बेबी ओलंपिक खेल" in body(browser)
    check(browser, screenshot, axe_check, "hindi-01-home")
    browser.get(live_server.url(fair.page))
    check(browser, screenshot, axe_check, "hindi-02-event")
    number, code = guest_booking(browser, live_server, fair, screenshot, axe_check,
                                 "hindi-03", labels=HINDI)
    assert html_lang(browser) == "hi" and "आपकी बुकिंग हो गई!" in body(browser)
    find_and_cancel(browser, live_server, screenshot, axe_check, "hindi-04", number, code, HINDI)
    assert "वापस आ जाएँगे" in body(browser)


def test_sign_in_pages_and_lookup_pass_axe(live_server, browser, screenshot, axe_check, fair):
    for name, path in (("login", "/login"), ("phone", "/login/phone"),
                       ("forgot", "/forgot-password"), ("events", "/events"),
                       ("lookup", "/bookings/lookup")):
        browser.get(live_server.url(path))
        check(browser, screenshot, axe_check, f"page-{name}")
    # A form with errors, as a parent sees it.
    browser.get(live_server.url("/login"))
    submit_click(browser, browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    assert "Enter your email." in body(browser)
    check(browser, screenshot, axe_check, "page-login-errors")

"""The back office in a real Chromium: an admin creates an event with two games and their
slots and publishes it, a parent books through the API, staff check the child in by typing the
booking number, the admin records a winner and completes the event, the certificate job runs.
Screenshots at 768 px (a tablet at the venue) and 1280 px; axe-core on every page."""

from __future__ import annotations

from datetime import datetime

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from sqlalchemy import select

from nibog.booking.models import Booking, BookingItem
from nibog.catalog.models import Event, GameSlot
from nibog.core.timeutil import IST, today_ist
from nibog.extensions import db
from tests.browser.conftest import SCREENSHOTS, _capture, wait_for, wait_for_path
from tests.factories import (
    PASSWORD,
    ChildFactory,
    GameTemplateFactory,
    UserFactory,
    VenueFactory,
)

WIDTHS = (768, 1280)


def shots(browser, name: str) -> None:
    """The page at a tablet's and a laptop's width; a tablet must not scroll sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        scroll = _capture(browser, SCREENSHOTS / f"admin-{name}-{width}.png", width)
        assert scroll <= width, f"{name}: {scroll}px wide at {width}px"
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.set_window_size(1280, 900)


def css(browser, selector):
    return browser.find_element(By.CSS_SELECTOR, selector)


def click(browser, selector):
    """Click with the element in the middle of the screen (not under the sticky top bar)."""
    element = css(browser, selector)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def set_value(browser, selector, value):
    # Date and time inputs take keystrokes in the browser's locale format: set them directly.
    browser.execute_script("arguments[0].value = arguments[1]", css(browser, selector), value)


def sign_in(browser, live_server, email, next_path="/admin/"):
    browser.get(live_server.url(next_path))
    wait_for(lambda: "/login" in browser.current_url)
    css(browser, "input[name=email]").send_keys(email)
    css(browser, "input[name=password]").send_keys(PASSWORD)
    click(browser, "form[action$='/login'] button[type=submit]")
    wait_for_path(browser, next_path)


def sign_out(browser):
    click(browser, "form[action$='/admin/sign-out'] button")
    wait_for(lambda: "/login" in browser.current_url)


def flash(browser) -> str:
    try:
        return " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".flash"))
    except WebDriverException:  # the page is being replaced under us
        return ""


def text_of(browser, selector) -> str:
    try:
        return css(browser, selector).text
    except WebDriverException:  # not there (yet), or being replaced
        return ""


def book_and_pay_through_the_api(app, parent, child, slot_id, event_id) -> str:
    from nibog.payments.gateways.sandbox import SandboxGateway

    client = app.test_client()
    token = client.post("/api/auth/login", json={"email": parent.email, "password": PASSWORD})
    assert token.status_code == 200, token.get_json()
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    booking = client.post("/api/bookings", headers=headers, json={
        "event_id": event_id, "items": [{"child_id": child.id, "slot_id": slot_id}]})
    assert booking.status_code == 201, booking.get_json()
    body = booking.get_json()["booking"]
    payment = client.post("/api/payments/create", headers=headers,
                          json={"booking_id": body["id"]}).get_json()
    paid = SandboxGateway(app.config).simulate_payment(payment["provider_order_id"])
    confirmed = client.post("/api/payments/confirm", headers=headers, json={
        "payment_id": payment["payment_id"], "provider_payment_id": paid["payment"]["id"],
        "signature": paid["signature"]})
    assert confirmed.status_code == 200, confirmed.get_json()
    return body["booking_number"]


def test_an_event_from_creation_to_certificates(live_server, browser, axe_check):
    if datetime.now(IST).strftime("%H:%M") >= "23:55":
        pytest.skip("the event runs today from 23:58 (India time); too close to midnight")
    admin = UserFactory(role="admin", email="asha@nibog.in", full_name="Asha Admin")
    staff = UserFactory(role="staff", email="sunil@nibog.in", full_name="Sunil Staff")
    parent = UserFactory(email="meera@example.com", full_name="Meera Iyer")
    child = ChildFactory(parent=parent, full_name="Aarav Iyer")
    venue = VenueFactory(name="Gachibowli Stadium")
    GameTemplateFactory(name="Running Race", default_price=79900)
    GameTemplateFactory(name="Baby Crawling", default_price=59900)

    # The admin signs in and lands on the overview.
    sign_in(browser, live_server, admin.email)
    assert css(browser, "h1").text == "Overview"
    axe_check(browser)
    shots(browser, "overview")

    # A new event, today (online booking stays open until it starts at 23:58).
    browser.get(live_server.url("/admin/events/new"))
    css(browser, "#title").send_keys("Hyderabad Winter Games")
    click(browser, f"#venue_id option[value='{venue.id}']")
    set_value(browser, "#event_date", today_ist().isoformat())
    set_value(browser, "#start_time", "23:58")
    set_value(browser, "#end_time", "23:59")
    axe_check(browser)
    click(browser, "main form button[type=submit]")
    wait_for(lambda: "#games" in browser.current_url)
    event = db.session.scalar(select(Event).where(Event.title == "Hyderabad Winter Games"))

    # Two games, each with a slot.
    for n, (name, start, end, seats) in enumerate((("Running Race", "10:00", "11:00", "20"),
                                                   ("Baby Crawling", "11:00", "12:00", "15"))):
        option = browser.find_element(
            By.XPATH, f"//select[@id='newgame-game_template_id']/option[text()='{name}']")
        option.click()
        set_value(browser, "#newgame-slots-0-start_time", start)
        set_value(browser, "#newgame-slots-0-end_time", end)
        css(browser, "#newgame-slots-0-capacity").send_keys(seats)
        click(browser, "form[action$='/games'] button[type=submit]")
        wait_for(lambda n=n: len(browser.find_elements(By.CSS_SELECTOR, "[id^='game-']")) == n + 1)
        assert "Game added." in flash(browser)
    # A third slot row appears with "Add a row" (the script copies the spare row).
    rows_before = len(browser.find_elements(By.CSS_SELECTOR, "table[data-rows='newgame-slots'] tbody tr"))
    click(browser, "button[data-add-row='newgame-slots']")
    assert len(browser.find_elements(
        By.CSS_SELECTOR, "table[data-rows='newgame-slots'] tbody tr")) == rows_before + 1
    assert css(browser, "#newgame-slots-2-capacity").get_attribute("name") == \
        "newgame-slots-2-capacity"

    # Publish.
    click(browser, "form[action$='/status'] button")
    wait_for(lambda: "Published" in flash(browser))
    axe_check(browser)
    shots(browser, "event")
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == "published"
    slots = db.session.scalars(select(GameSlot).join(GameSlot.event_game)
                               .order_by(GameSlot.start_time)).all()
    assert [s.capacity for s in slots] == [20, 15]

    # The events list and the catalog pages pass axe too.
    for path in ("/admin/events", "/admin/cities", "/admin/venues", "/admin/games",
                 "/admin/promo-codes", "/admin/promo-codes/new"):
        browser.get(live_server.url(path))
        axe_check(browser)
    shots(browser, "promo-form")
    browser.get(live_server.url("/admin/events"))
    shots(browser, "events")

    # A parent books the first slot and pays, through the API.
    number = book_and_pay_through_the_api(live_server.app, parent, child, slots[0].id, event.id)
    sign_out(browser)

    # Staff check the child in at the venue by typing the booking number.
    sign_in(browser, live_server, staff.email, f"/admin/events/{event.id}/day")
    assert "Aarav Iyer" in css(browser, f"#slot-{slots[0].id}").text
    axe_check(browser)
    box = css(browser, "#booking-number")
    box.send_keys(number.lower())
    click(browser, "#checkin-form button[type=submit]")
    wait_for(lambda: "Checked in" in text_of(browser, "#checkin-result"))
    assert "Aarav Iyer" in text_of(browser, "#checkin-result")
    # The same ticket again: refused, and said so.
    css(browser, "#booking-number").send_keys(number)
    click(browser, "#checkin-form button[type=submit]")
    wait_for(lambda: "Already checked in" in text_of(browser, "#checkin-result"))
    shots(browser, "event-day")
    db.session.expire_all()
    item = db.session.scalar(select(BookingItem).join(Booking)
                             .where(Booking.booking_number == number))
    assert item.checked_in_by_id == staff.id
    sign_out(browser)

    # The admin records the winner and completes the event; the certificate job runs.
    sign_in(browser, live_server, admin.email, f"/admin/events/{event.id}/day")
    css(browser, f"input[name='pos-{item.id}']").send_keys("1")
    click(browser, f"#slot-{slots[0].id} form button[type=submit]:not([formaction])")
    wait_for(lambda: "Results saved" in flash(browser))
    click(browser, "form[action$='/day/complete'] button")
    wait_for(lambda: css(browser, "#confirm-dialog").get_attribute("open") is not None)
    shots(browser, "confirm-dialog")
    click(browser, "#confirm-ok")
    wait_for(lambda: "Event completed" in flash(browser))
    wait_for(lambda: text_of(browser, "#cert-ready") == "1", timeout=20)
    axe_check(browser)
    shots(browser, "certificates")
    db.session.expire_all()
    item = db.session.get(BookingItem, item.id)
    assert item.result_position == 1 and item.certificate_path
    assert db.session.get(Event, event.id).status == "completed"

    # The overview now shows the sale, its charts and their numbers.
    browser.get(live_server.url("/admin/?days=7"))
    assert "Hyderabad Winter Games" in css(browser, "#chart-revenue-by-event").text
    axe_check(browser)
    shots(browser, "overview-with-sales")

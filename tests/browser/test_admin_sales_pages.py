"""The dashboard's sales, money, people, messages and reports pages in Chromium: at a venue's
tablet width (768 px) and a laptop's (1280 px), with axe (no serious or critical violation),
screenshots in test-artifacts/screenshots/admin-*, and the desk's flows driven by hand: a
manual booking (refused when the slot is full, then made), a cancellation through the
confirmation dialog, and a report export watched to its download."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from nibog.admin.models import ReportExport
from nibog.booking.models import Booking, WaitingListEntry
from nibog.content.models import ContactMessage
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.payments.history import flag
from tests.booking.world import make_world
from tests.browser.conftest import SCREENSHOTS, _capture, wait_for, wait_for_path
from tests.factories import (
    PASSWORD,
    ChildFactory,
    UserFactory,
    birth_date_for_age,
    make_booking,
    pay,
)

WIDTHS = (768, 1280)


@pytest.fixture
def shots(browser):
    """``shots(name)``: the page at 768 and 1280 px, full height; fails on sideways scroll."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> list[Path]:
        paths = []
        for width in WIDTHS:
            path = SCREENSHOTS / f"admin-{name}-{width}.png"
            scroll_width = _capture(browser, path, width)
            assert scroll_width <= width, f"{name}: {scroll_width}px wide at {width}px"
            paths.append(path)
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return paths

    return take


def check_at_both_widths(browser, axe_check):
    for width in WIDTHS:
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": width, "height": 900, "deviceScaleFactor": 1,
                                 "mobile": False})
        time.sleep(0.1)
        axe_check(browser)
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def sign_in(browser, live_server, email: str, next_path: str = "/admin/bookings") -> None:
    browser.get(live_server.url(f"/login?next={next_path}"))
    browser.find_element(By.NAME, "email").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.XPATH, "//input[@name='password']/ancestor::form//button[@type='submit']"
                         ).click()
    wait_for_path(browser, next_path)


def confirm_dialog(browser) -> None:
    """The page's own confirmation dialog (data-confirm): press "Yes, go ahead"."""
    ok = wait_for(lambda: browser.find_element(By.ID, "confirm-ok").is_displayed()
                  and browser.find_element(By.ID, "confirm-ok"))
    ok.click()


@pytest.fixture
def shop(app):
    """An event with bookings, a payment with an open flag, a waiting list, messages."""
    world = make_world(capacity=1, n_slots=3, n_children=2)
    staff = UserFactory(role="staff", email="desk@nibog.in", full_name="Desk Staff")
    admin = UserFactory(role="admin", email="boss@nibog.in", full_name="Asha Admin")
    first = make_booking(world.parent, [(world.children[0], world.slots[0])], price=79900)
    payment = pay(first)
    payment = db.session.get(type(payment), payment.id)
    flag(payment, "webhook", "amount_mismatch: gateway 70000 INR, order 79900 INR",
         kind="amount_mismatch")
    other = UserFactory(full_name="Meera Iyer", email="meera@example.com")
    waiting = ChildFactory(parent=other, full_name="Ishaan",
                           date_of_birth=birth_date_for_age(24, world.event.event_date))
    db.session.add(WaitingListEntry(slot_id=world.slots[0].id, child_id=waiting.id,
                                    user_id=other.id))
    db.session.add(ContactMessage(name="Ravi Kumar", email="ravi@example.com",
                                  message="Is there parking at the venue?"))
    db.session.add(NotificationLog(channel="email", template="booking_confirmed",
                                   recipient=world.parent.email, booking_id=first.id,
                                   status="sent"))
    db.session.commit()
    return {"world": world, "staff": staff, "admin": admin, "booking": first,
            "payment": payment}


def test_staff_desk_pages_and_a_manual_booking(live_server, browser, axe_check, shots, shop):
    world = shop["world"]
    sign_in(browser, live_server, shop["staff"].email)

    # The list, searched by the parent's e-mail: the filter lives in the address.
    browser.find_element(By.ID, "f-q").send_keys(world.parent.email)
    browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait_for(lambda: "q=" in browser.current_url)
    assert shop["booking"].booking_number in browser.page_source
    check_at_both_widths(browser, axe_check)
    shots("bookings")

    browser.find_element(By.LINK_TEXT, shop["booking"].booking_number).click()
    wait_for(lambda: "/admin/bookings/" in browser.current_url)
    assert "History" in browser.page_source
    check_at_both_widths(browser, axe_check)
    shots("booking")

    # A walk-in for the slot that is full: refused at the slots, the entries kept.
    browser.get(live_server.url(f"/admin/bookings/new?event_id={world.event.id}"))
    browser.find_element(By.ID, "guest_name").send_keys("Kavya Iyer")
    browser.find_element(By.ID, "guest_email").send_keys("kavya@example.com")
    browser.find_element(By.ID, "child_name").send_keys("Anu")
    dob = birth_date_for_age(30, world.event.event_date)
    browser.execute_script("document.getElementById('child_dob').value = arguments[0]",
                           dob.isoformat())
    browser.find_element(By.CSS_SELECTOR, f"input[name=slot_ids][value='{world.slots[0].id}']"
                         ).click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Book']").click()
    wait_for(lambda: "slots-error" in browser.page_source)
    assert "That slot has no seats left." in browser.page_source
    assert browser.find_element(By.ID, "guest_name").get_attribute("value") == "Kavya Iyer"
    check_at_both_widths(browser, axe_check)
    shots("new-booking-refused")

    # Another slot, cash: made.
    browser.find_element(By.CSS_SELECTOR, f"input[name=slot_ids][value='{world.slots[0].id}']"
                         ).click()
    browser.find_element(By.CSS_SELECTOR, f"input[name=slot_ids][value='{world.slots[1].id}']"
                         ).click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Book']").click()
    wait_for(lambda: "Walk-in access code" in browser.page_source)
    db.session.expire_all()
    made = db.session.query(Booking).filter(Booking.guest_email == "kavya@example.com").one()
    assert made.status == "confirmed" and made.payment_mode == "cash"
    shots("booking-made")

    # Cancelled through the confirmation dialog, by the policy.
    browser.find_element(By.ID, "reason").send_keys("parent changed plans")
    browser.find_element(By.XPATH, "//button[normalize-space()='Cancel booking']").click()
    confirm_dialog(browser)
    wait_for(lambda: "Booking cancelled." in browser.page_source)
    db.session.expire_all()
    assert db.session.get(Booking, made.id).status == "cancelled"

    for name, path in [
        ("waitlists", "/admin/waitlists"),
        ("waitlist-slot", f"/admin/waitlists/{world.slots[0].id}"),
        ("contact-messages", "/admin/contact-messages"),
        ("notifications", "/admin/notifications"),
        ("users", "/admin/users"),
        ("user", f"/admin/users/{world.parent.id}"),
    ]:
        browser.get(live_server.url(path))
        assert browser.find_element(By.TAG_NAME, "h1").text
        check_at_both_widths(browser, axe_check)
        shots(name)


def test_admin_money_pages_and_a_report_download(live_server, browser, axe_check, shots, shop,
                                                 app):
    sign_in(browser, live_server, shop["admin"].email, "/admin/payments")
    assert f"/admin/payments/{shop['payment'].id}" in browser.page_source
    check_at_both_widths(browser, axe_check)
    shots("payments")

    browser.get(live_server.url(f"/admin/payments/{shop['payment'].id}"))
    check_at_both_widths(browser, axe_check)
    shots("payment")
    browser.find_element(By.ID, f"resolution-{1}").send_keys("gateway confirmed 79900")
    browser.find_element(By.XPATH, "//button[normalize-space()='Resolve']").click()
    wait_for(lambda: "Flag resolved." in browser.page_source)

    browser.get(live_server.url("/admin/payments/flags?state=all"))
    check_at_both_widths(browser, axe_check)
    shots("payment-flags")

    for name, path in [("audit-log", "/admin/audit-log"), ("failed-jobs", "/admin/jobs/failed"),
                       ("faqs", "/admin/faqs"), ("pages", "/admin/pages")]:
        browser.get(live_server.url(path))
        check_at_both_widths(browser, axe_check)
        shots(name)

    # A bookings export: the job runs, the page shows its progress and then the file.
    browser.get(live_server.url("/admin/reports"))
    check_at_both_widths(browser, axe_check)
    shots("reports")
    Select(browser.find_element(By.ID, "kind")).select_by_value("bookings")
    browser.find_element(By.XPATH, "//button[normalize-space()='Prepare the file']").click()
    wait_for(lambda: "/admin/reports/" in browser.current_url)
    link = wait_for(lambda: browser.find_element(By.ID, "report-download").is_displayed()
                    and browser.find_element(By.CSS_SELECTOR, "#report-download a"))
    assert browser.find_element(By.ID, "report-progress").get_attribute("value") == "100"
    check_at_both_widths(browser, axe_check)
    shots("report")
    link.click()
    downloaded = wait_for(lambda: [p for p in Path(browser.download_dir).glob("*.csv")], 15)
    assert shop["booking"].booking_number in downloaded[0].read_text(encoding="utf-8-sig")
    db.session.expire_all()
    assert db.session.query(ReportExport).one().status == "done"


def test_the_report_page_follows_a_running_export_without_reloading(live_server, browser, shop):
    from nibog.documents.storage import get_storage

    report = ReportExport(kind="bookings", file_format="csv", status="running", progress=40)
    db.session.add(report)
    db.session.commit()
    sign_in(browser, live_server, shop["admin"].email, f"/admin/reports/{report.id}")
    assert browser.find_element(By.ID, "report-progress").get_attribute("value") == "40"
    assert not browser.find_element(By.ID, "report-download").is_displayed()
    browser.execute_script("window.notReloaded = true")
    # The job finishes: the script polling the status shows the download on this same page.
    with live_server.app.app_context():
        get_storage().put(f"reports/{report.id}.csv", b"booking_number\r\n", "text/csv")
    report.status, report.progress, report.file_path = "done", 100, f"reports/{report.id}.csv"
    db.session.commit()
    wait_for(lambda: browser.find_element(By.ID, "report-download").is_displayed(), 10)
    assert browser.find_element(By.ID, "report-progress").get_attribute("value") == "100"
    assert browser.execute_script("return window.notReloaded === true")

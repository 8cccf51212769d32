"""Small helpers for driving the parent site in Chromium."""

from __future__ import annotations

import io
from datetime import time, timedelta
from pathlib import Path

import pypdf
import zxingcpp
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from nibog.core.timeutil import today_ist
from tests.booking.world import add_variant, make_promo
from tests.browser.conftest import wait_for
from tests.factories import (
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    birth_date_for_age,
)

# Phones: every button, field and choice a parent taps on the site's pages is at least this tall,
# and axe runs WCAG 2.2's target-size rule (wcag22aa) too.
TAP_PX = 44
PHONE_AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

# Interactive elements of the page's own content and header (running-text links are exempt, as
# in WCAG 2.5.8); a checkbox or radio counts by its label, the area a thumb actually hits.
TAP_TARGETS_JS = """
const need = arguments[0];
const visible = el => { const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden"; };
if (!document.querySelector(".site-header")) return [];  // the sandbox's stand-in page
const sel = ["main button", "main a.button", "main select", "main textarea",
  "main input:not([type=hidden]):not([type=checkbox]):not([type=radio])",
  "main .actions a", "main .change-links a", "main .option a", "main .link-list a",
  "main .pagination a", ".site-header a", ".site-header button"].join(",");
const small = [];
for (const el of document.querySelectorAll(sel)) {
  if (!visible(el)) continue;
  const h = el.getBoundingClientRect().height;
  if (h < need - 0.5) small.push(`${el.tagName.toLowerCase()} "${(el.innerText || el.name || "").trim().slice(0, 40)}" ${h.toFixed(1)}px`);
}
for (const el of document.querySelectorAll("main input[type=checkbox], main input[type=radio]")) {
  if (!visible(el)) continue;
  const label = el.labels && el.labels[0];
  const h = Math.max(label && visible(label) ? label.getBoundingClientRect().height : 0,
                     el.getBoundingClientRect().height);
  if (h < need - 0.5) small.push(`${el.type} ${el.name}=${el.value}: label ${h.toFixed(1)}px`);
}
return small;
"""


def small_tap_targets(driver) -> list[str]:
    """The tap targets of the current page under TAP_PX tall at 360 px (empty when none)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 360, "height": 800, "deviceScaleFactor": 1, "mobile": True})
    try:
        return driver.execute_script(TAP_TARGETS_JS, TAP_PX)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


class Fair:
    """A published event with two toddler games (three slots each), a big kids' race, a T-shirt
    with sizes and a promo code."""

    def __init__(self):
        self.event = EventFactory(event_date=today_ist() + timedelta(days=30),
                                  title="Hyderabad Baby Olympics", slug="hyderabad-baby-olympics",
                                  description="Races for little ones at the Gachibowli stadium.")
        self.games, self.slots = [], {}
        for name, lo, hi, price in (("Baby Crawling", 12, 48, 79900),
                                    ("Baby Walker", 12, 48, 69900),
                                    ("Running Race", 49, 84, 99900)):
            game = EventGameFactory(event=self.event, template=GameTemplateFactory(
                name=name, min_age_months=lo, max_age_months=hi, default_price=price))
            self.games.append(game)
            self.slots[name] = [
                GameSlotFactory(event_game=game, capacity=10, start_time=time(10 + i, 0),
                                end_time=time(10 + i, 30))
                for i in range(3)
            ]
        self.variant = add_variant(self.event, price=29900, name="T-shirt")
        make_promo("EARLY10", value=10)
        self.toddler_birth = birth_date_for_age(24, self.event.event_date)

    @property
    def page(self) -> str:
        return f"/events/{self.event.id}-{self.event.slug}"


def field(driver, name: str):
    return driver.find_element(By.NAME, name)


def fill(driver, **values) -> None:
    for name, value in values.items():
        element = field(driver, name)
        if element.get_attribute("type") == "date":
            # Typing into a date input depends on the browser's locale: set it directly.
            driver.execute_script("arguments[0].value = arguments[1]", element, value)
        else:
            element.clear()
            element.send_keys(value)


def press(driver, text: str, *, navigates: bool = True) -> None:
    """Click the button or link whose visible text contains ``text`` and wait for the next
    page."""
    xpath = (f"//button[contains(normalize-space(.), {quote(text)})] | "
             f"//a[contains(normalize-space(.), {quote(text)})]")
    def visible(d):
        try:
            return [e for e in d.find_elements(By.XPATH, xpath) if e.is_displayed()]
        except WebDriverException:  # the page was replaced while we looked: look again
            return []

    try:
        # A loaded machine may still be painting the page the last step opened.
        elements = WebDriverWait(driver, 10).until(visible)
    except TimeoutException:
        elements = []
    assert elements, f"no visible button or link {text!r} on {driver.current_url}"
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", elements[0])
    page = driver.find_element(By.TAG_NAME, "html")
    elements[0].click()
    if navigates:
        WebDriverWait(driver, 20).until(lambda d: _gone(page))
        WebDriverWait(driver, 20).until(
            lambda d: d.execute_script("return document.readyState") == "complete")


def _gone(element) -> bool:
    """The old page's element is detached. Chromium sometimes answers a detached node with
    "Node ... does not belong to the document" rather than a stale-element error, which
    selenium's ``staleness_of`` does not catch."""
    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def quote(text: str) -> str:
    return f'"{text}"' if '"' not in text else f"'{text}'"


def tick(driver, value: str) -> None:
    box = driver.find_element(By.CSS_SELECTOR, f"input[value='{value}']")
    if not box.is_selected():
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
        box.click()


def choose(driver, name: str, label: str) -> None:
    Select(field(driver, name)).select_by_visible_text(label)


def submit_click(driver, element) -> None:
    """Click a submit button found some other way, and wait for the next page."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()
    WebDriverWait(driver, 20).until(lambda d: _gone(page))
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.readyState") == "complete")


def submit_css(driver, css: str, attempts: int = 3) -> None:
    """``submit_click`` on the element ``css`` finds, looked up again if the page replaced it
    between finding and clicking (a slow machine still running the page's scripts)."""
    for attempt in range(attempts):
        try:
            submit_click(driver, driver.find_element(By.CSS_SELECTOR, css))
            return
        except WebDriverException:
            if attempt == attempts - 1:
                raise
            wait_for(lambda: driver.execute_script("return document.readyState") == "complete")


def first_radio(driver, name: str) -> None:
    radio = driver.find_element(By.CSS_SELECTOR, f"input[type=radio][name='{name}']")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", radio)
    radio.click()


def body(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def html_lang(driver) -> str:
    return driver.find_element(By.TAG_NAME, "html").get_attribute("lang")


def downloaded_pdf(driver) -> bytes:
    folder = Path(driver.download_dir)
    path = wait_for(lambda: next((p for p in folder.glob("*.pdf")), None), timeout=20)
    return path.read_bytes()


def qr_codes(pdf: bytes) -> list[str]:
    found = []
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        for image in page.images:
            found += [code.text for code in zxingcpp.read_barcodes(image.image)]
    return found

"""Small helpers for driving the parent site in Chromium."""

from __future__ import annotations

import io
from datetime import time, timedelta
from pathlib import Path

import pypdf
import zxingcpp
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
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
    elements = [e for e in driver.find_elements(By.XPATH, xpath) if e.is_displayed()]
    assert elements, f"no visible button or link {text!r} on {driver.current_url}"
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", elements[0])
    page = driver.find_element(By.TAG_NAME, "html")
    elements[0].click()
    if navigates:
        WebDriverWait(driver, 20).until(staleness_of(page))
        WebDriverWait(driver, 20).until(
            lambda d: d.execute_script("return document.readyState") == "complete")


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
    WebDriverWait(driver, 20).until(staleness_of(page))


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

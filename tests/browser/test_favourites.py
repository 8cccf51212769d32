"""The favourite toggle on the event page in headless Chromium: a signed-out parent is sent to
sign in and back, adds the event, finds it in the account, removes it; in English and Hindi,
photographed at 360 and 1280 px (test-artifacts/screenshots/favourite-*) and checked with
axe-core."""

from __future__ import annotations

import pytest

from nibog.core import boundary
from tests.browser.flows import Fair, body, fill, html_lang, press, submit_css
from tests.factories import PASSWORD, UserFactory


@pytest.fixture
def fair(app):
    fair = Fair()
    fair.parent = UserFactory(full_name="Asha Rao", email="asha.fav@example.com")
    boundary.commit()
    return fair


def check(browser, screenshot, axe_check, name: str) -> None:
    screenshot(f"favourite-{name}")
    axe_check(browser)


def test_a_parent_signs_in_from_the_event_page_and_keeps_it_as_a_favourite(
        live_server, browser, screenshot, axe_check, fair):
    browser.get(live_server.url(fair.page))
    check(browser, screenshot, axe_check, "01-signed-out")
    press(browser, "Add to favourites")
    assert "/login?next=" in browser.current_url
    fill(browser, email=fair.parent.email, password=PASSWORD)
    submit_css(browser, "main form button[type=submit]")
    assert browser.current_url.endswith(fair.page), browser.current_url

    press(browser, "Add to favourites")
    assert browser.current_url.endswith(fair.page)
    page = body(browser)
    assert "Added to your favourites." in page and "In your favourites" in page
    check(browser, screenshot, axe_check, "02-added")

    browser.get(live_server.url("/account/favorites"))
    assert "Hyderabad Baby Olympics" in body(browser)
    press(browser, "Hyderabad Baby Olympics")
    press(browser, "Remove from favourites")
    assert "Removed from your favourites." in body(browser)
    assert "Add to favourites" in body(browser)
    browser.get(live_server.url("/account/favorites"))
    assert "Hyderabad Baby Olympics" not in body(browser)


def test_the_favourite_toggle_in_hindi(live_server, browser, screenshot, axe_check, fair):
    browser.get(live_server.url(f"/login?next={fair.page}"))
    fill(browser, email=fair.parent.email, password=PASSWORD)
    submit_css(browser, "main form button[type=submit]")
    press(browser, "हिन्दी")
    assert html_lang(browser) == "hi"
    press(browser, "पसंदीदा में जोड़ें")
    assert "आपके पसंदीदा में है" in body(browser)
    check(browser, screenshot, axe_check, "hi-added")

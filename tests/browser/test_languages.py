"""A third language in the header's switcher (config LANGUAGES), in headless Chromium: it fits
a 360 px phone without sideways scrolling and passes axe-core
(test-artifacts/screenshots/language-*)."""

from __future__ import annotations

from nibog.core import boundary
from tests.browser.flows import Fair, body, html_lang, press


def test_the_switcher_with_three_languages_fits_a_phone(
        live_server, browser, screenshot, axe_check, monkeypatch):
    Fair()
    boundary.commit()
    monkeypatch.setitem(live_server.app.config, "LANGUAGES", ["en", "hi", "ta"])
    browser.get(live_server.url("/events"))
    assert "தமிழ்" in body(browser)
    screenshot("language-01-three-languages")
    axe_check(browser)
    press(browser, "தமிழ்")
    assert html_lang(browser) == "ta"
    screenshot("language-02-tamil-chosen")
    axe_check(browser)

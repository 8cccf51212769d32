"""The fixtures themselves: the site is served, screenshots are taken, axe runs."""

from __future__ import annotations

from selenium.webdriver.common.by import By


def test_home_page_renders_in_chromium_without_serious_axe_violations(
    live_server, browser, screenshot, axe_check
):
    browser.get(live_server.url("/"))
    assert browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    paths = screenshot("smoke-home")
    assert all(p.stat().st_size > 1000 for p in paths)
    axe_check(browser)

"""Language choice and the Indian way of writing money and times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import render_template_string
from flask_babel import refresh

from nibog.core import i18n


def test_language_from_cookie_then_browser_then_english(app):
    with app.test_request_context("/", headers={"Cookie": "lang=hi"}):
        assert i18n.select_locale() == "hi"
    with app.test_request_context("/", headers={"Accept-Language": "hi-IN,hi;q=0.9,en;q=0.5"}):
        assert i18n.select_locale() == "hi"
    with app.test_request_context("/", headers={"Accept-Language": "fr-FR", "Cookie": "lang=xx"}):
        assert i18n.select_locale() == "en"


def test_times_in_ist_written_the_indian_way(app):
    moment = datetime(2026, 12, 29, 3, 30, tzinfo=UTC)  # 9:00 in Kolkata
    with app.test_request_context("/"):
        assert i18n.when(moment) == "Tue, 29 Dec 2026, 9:00 am"
        assert i18n.day(date(2026, 12, 27)) == "Sun, 27 Dec 2026"
        assert i18n.clock(time(16, 30)) == "4:30 pm"
    with app.test_request_context("/", headers={"Cookie": "lang=hi"}):
        refresh()  # the test shares one app context (and Flask-Babel's cache) between requests
        assert i18n.when(moment).startswith("मंगल, 29")


def test_templates_format_money_with_indian_grouping(app):
    with app.test_request_context("/"):
        html = render_template_string("{{ 123456700|money }} {{ 79950|money }}")
    assert html == "₹12,34,567 ₹799.50"

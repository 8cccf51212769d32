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


def test_the_site_and_dashboard_catalogues_agree_on_shared_strings():
    """Flask-Babel merges both catalogues; a string in both must read the same, or the one
    loaded last silently rewrites the other face's pages."""
    import pathlib

    from babel.messages.pofile import read_po

    root = pathlib.Path(__file__).resolve().parents[2] / "translations"
    for language in ("hi",):
        with open(root / "site" / language / "LC_MESSAGES" / "messages.po", "rb") as f:
            site = read_po(f)
        with open(root / "admin" / language / "LC_MESSAGES" / "messages.po", "rb") as f:
            admin = read_po(f)
        differ = [
            m.id for m in admin
            if m.id and m.string and (s := site.get(m.id)) is not None and s.string
            and s.string != m.string
        ]
        assert differ == [], language

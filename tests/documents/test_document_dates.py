"""Tickets and certificates write the date and times as the pages and e-mails do: IST, the Indian
way (``Tue, 29 Dec 2026``, ``12:30 am``), in the parent's language, read back from the PDF with
pdftotext as a parent's PDF viewer would show it.

Slot and event times are venue-local wall times (IST); the 00:30 slot below is 19:00 UTC the day
before, the case a UTC-based formatter gets wrong by a day and five and a half hours.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import update

from nibog.catalog.models import GameSlot
from nibog.core import boundary
from nibog.core.timeutil import local_to_utc
from nibog.documents import certificates, tickets
from nibog.extensions import db
from nibog.notifications.templates import attachments_for, build_context
from tests.documents.helpers import make_booking
from tests.factories import EventFactory, UserFactory

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")
# The short i sign of दिस॰ is drawn before its consonant; the extracted text carries it as a
# private-use code point, so the pattern allows any one character there.
HINDI_DAY = re.compile(r"मंगल, 29 .?दस॰ 2026")

EVENT_DAY = date(2026, 12, 29)  # a Tuesday
PAST_DAY = date(2026, 11, 1)  # a Sunday


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return " ".join(out.split())


def _night_booking(language="en", **kwargs):
    event = EventFactory(event_date=EVENT_DAY, start_time=time(0, 30), end_time=time(14, 0),
                         **kwargs)
    booking, info = make_booking(user=UserFactory(language=language), event=event,
                                 games=("Crawling", "Running"))
    first, second = info["slots"]
    for slot, start, end in ((first, time(0, 30), time(1, 0)), (second, time(13, 15), time(13, 45))):
        db.session.execute(update(GameSlot).where(GameSlot.id == slot.id)
                           .values(start_time=start, end_time=end))
    boundary.commit()
    return booking, info


def test_the_night_slot_is_the_previous_day_in_utc():
    assert local_to_utc(EVENT_DAY, time(0, 30)) == datetime(2026, 12, 28, 19, 0, tzinfo=UTC)


def test_english_ticket_writes_ist_date_and_12_hour_times(tmp_path):
    booking, _ = _night_booking("en")
    text = _text(tickets.render_ticket_pdf(booking.id), tmp_path)
    assert "Date: Tue, 29 Dec 2026, 12:30 am - 2:00 pm" in text
    assert "12:30 am - 1:00 am" in text and "1:15 pm - 1:45 pm" in text
    assert "00:30" not in text and "13:15" not in text and "28 Dec" not in text


def test_hindi_parent_gets_a_hindi_ticket_and_the_page_language_wins(tmp_path):
    booking, _ = _night_booking("hi")
    text = _text(tickets.render_ticket_pdf(booking.id), tmp_path)
    assert re.search(HINDI_DAY.pattern + ", 12:30 am - 2:00 pm", text) and "Dec" not in text
    assert "12:30 am - 1:00 am" in text and "1:15 pm - 1:45 pm" in text

    # Downloaded from a page read in English: the ticket matches the page.
    english = _text(tickets.render_ticket_pdf(booking.id, language="en"), tmp_path)
    assert "Tue, 29 Dec 2026" in english


def test_ticket_attached_to_the_email_is_in_the_emails_language(app, tmp_path):
    booking, info = _night_booking("hi")
    ctx = build_context({}, booking_id=booking.id, user_id=info["user"].id, language="hi")
    [attachment] = attachments_for("booking_confirmed", ctx)
    text = _text(attachment.data, tmp_path)
    assert ctx["booking"]["event"]["date_display"].startswith("मंगल, 29")  # as the e-mail says
    assert HINDI_DAY.search(text) and "Dec" not in text
    assert "12:30 am - 1:00 am" in text


@pytest.mark.parametrize("language, expected", [("en", "Sun, 1 Nov 2026"),
                                                ("hi", "1 नव॰ 2026")])
def test_certificate_writes_the_event_date_in_the_parents_language(tmp_path, language, expected):
    event = EventFactory(event_date=PAST_DAY, status="completed")
    booking, info = make_booking(user=UserFactory(language=language), event=event,
                                 status="completed")
    child = info["children"][0].id
    text = _text(certificates.render_certificate_pdf(booking.id, child), tmp_path)
    assert expected in text
    assert "01 Nov" not in text


def test_a_certificate_is_stored_once_per_language(app, tmp_path):
    event = EventFactory(event_date=PAST_DAY, status="completed")
    booking, info = make_booking(event=event, status="completed")
    child = info["children"][0].id
    english, created = certificates.certificate_for(booking.id, child, language="en")
    assert created
    hindi, created = certificates.certificate_for(booking.id, child, language="hi")
    assert created  # not the English file served again
    assert "1 Nov 2026" in _text(english, tmp_path)
    assert "1 नव॰ 2026" in _text(hindi, tmp_path)

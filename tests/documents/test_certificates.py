"""Certificates: participation and winner pages per child, the event's template, availability
rules, bulk generation once per family, and email on request."""

from __future__ import annotations

import io
from datetime import timedelta

import pypdf
from sqlalchemy import select

from nibog.booking.models import BookingItem
from nibog.core import boundary
from nibog.core.timeutil import today_ist
from nibog.documents.tasks import generate_event_certificates
from nibog.notifications.channels import CONSOLE_OUTBOX
from nibog.notifications.models import NotificationLog
from tests.documents.helpers import make_booking
from tests.helpers import auth_headers, error_code

YESTERDAY = lambda: today_ist() - timedelta(days=1)  # noqa: E731


def _pages(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def _fonts(pdf: bytes) -> set[str]:
    fonts = set()
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    return fonts


def _set_items(db, booking, **values):
    for item in db.session.scalars(select(BookingItem).where(BookingItem.booking_id == booking.id)):
        for key, value in values.items():
            setattr(item, key, value)
    boundary.commit()


def test_completed_event_gives_winner_and_participation_pages(client, db):
    booking, info = make_booking(games=("Baby Crawling", "Running Race"), status="completed",
                                 event_date=YESTERDAY(), title="Pune Games")
    info["event"].status = "completed"
    first = info["items"][0]
    first.result_position = 1
    boundary.commit()

    resp = client.get(f"/api/bookings/{booking.id}/certificate", headers=auth_headers(info["user"]))
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    pages = _pages(resp.data)
    assert len(pages) == 2
    winner = next(p for p in pages if "Achievement" in p)
    assert "Aarav" in winner and "1st place" in winner and "Pune Games" in winner
    other = next(p for p in pages if "Participation" in p)
    assert "taking part in Running Race" in other
    assert any("NotoSerif-Bold" in f for f in _fonts(resp.data))  # the default "classic" one

    path = db.session.scalar(select(BookingItem.certificate_path).where(BookingItem.id == first.id))
    assert path and path.startswith(f"certificates/{info['event'].id}/")


def test_event_template_changes_the_look(client, db):
    booking, info = make_booking(status="completed", event_date=YESTERDAY())
    info["event"].status = "completed"
    info["event"].certificate_template = "playful"
    boundary.commit()
    resp = client.get(f"/api/bookings/{booking.id}/certificate", headers=auth_headers(info["user"]))
    assert resp.status_code == 200
    fonts = _fonts(resp.data)
    assert any("NotoSans-Bold" in f for f in fonts) and not any("Serif" in f for f in fonts)


def test_certificate_only_after_the_event_and_only_for_attendees(client, db):
    booking, info = make_booking()  # event in 30 days
    headers = auth_headers(info["user"])
    resp = client.get(f"/api/bookings/{booking.id}/certificate", headers=headers)
    assert resp.status_code == 409 and error_code(resp) == "certificate_unavailable"

    past, pinfo = make_booking(event_date=YESTERDAY())  # over, not yet completed
    pheaders = auth_headers(pinfo["user"])
    resp = client.get(f"/api/bookings/{past.id}/certificate", headers=pheaders)
    assert resp.status_code == 409  # nobody checked in
    _set_items(db, past, attendance="attended")
    resp = client.get(f"/api/bookings/{past.id}/certificate", headers=pheaders)
    assert resp.status_code == 200
    assert "Participation" in _pages(resp.data)[0]


def test_child_must_be_named_when_the_booking_has_several(client, db):
    booking, info = make_booking(child_names=("Aarav", "Diya"), event_date=YESTERDAY())
    _set_items(db, booking, attendance="attended")
    headers = auth_headers(info["user"])
    resp = client.get(f"/api/bookings/{booking.id}/certificate", headers=headers)
    assert resp.status_code == 422
    diya = info["children"][1]
    resp = client.get(f"/api/bookings/{booking.id}/certificate?child_id={diya.id}", headers=headers)
    assert resp.status_code == 200
    assert "Diya" in _pages(resp.data)[0] and "Aarav" not in _pages(resp.data)[0]
    resp = client.get(f"/api/bookings/{booking.id}/certificate?child_id=999999", headers=headers)
    assert resp.status_code == 404


def test_bulk_generation_stores_files_and_emails_each_family_once(app, db):
    event_booking, info = make_booking(child_names=("Aarav", "Diya"), event_date=YESTERDAY())
    second, _ = make_booking(event=info["event"], child_names=("Kabir",))
    cancelled, _ = make_booking(event=info["event"], status="cancelled")
    info["event"].status = "completed"
    boundary.commit()
    CONSOLE_OUTBOX.clear()

    assert generate_event_certificates(info["event"].id) == 3
    paths = db.session.scalars(
        select(BookingItem.certificate_path).where(BookingItem.booking_id == event_booking.id)
    ).all()
    assert all(paths)
    from nibog.documents.storage import get_storage

    assert all(get_storage().exists(p) for p in paths)

    logs = db.session.scalars(
        select(NotificationLog).where(NotificationLog.template == "certificate_ready")
    ).all()
    assert sorted(log.booking_id for log in logs) == sorted([event_booking.id, second.id])
    assert all(log.status == "sent" for log in logs)
    mail = next(m for m in CONSOLE_OUTBOX if m["To"] == info["user"].email)
    attachments = [part.get_filename() for part in mail.iter_attachments()]
    assert len(attachments) == 2 and all(a.endswith(".pdf") for a in attachments)

    # Running the job again generates nothing new and emails nobody again.
    assert generate_event_certificates(info["event"].id) == 0
    assert db.session.scalar(
        select(NotificationLog.id).where(NotificationLog.template == "certificate_ready")
        .order_by(NotificationLog.id.desc()).limit(1)
    ) == max(log.id for log in logs)


def test_certificate_email_on_request(client, db):
    booking, info = make_booking(event_date=YESTERDAY())
    headers = auth_headers(info["user"])
    resp = client.post(f"/api/bookings/{booking.id}/certificate/email", json={}, headers=headers)
    assert resp.status_code == 409  # not attended yet
    _set_items(db, booking, attendance="attended")
    CONSOLE_OUTBOX.clear()
    resp = client.post(f"/api/bookings/{booking.id}/certificate/email", json={}, headers=headers)
    assert resp.status_code == 202
    assert resp.get_json()["email"] == info["user"].email
    mail = CONSOLE_OUTBOX[-1]
    assert mail["To"] == info["user"].email
    [attachment] = list(mail.iter_attachments())
    assert "Aarav" in _pages(attachment.get_content())[0]


def test_certificate_email_requests_are_rate_limited_per_parent(client, db):
    booking, info = make_booking(event_date=YESTERDAY())
    _set_items(db, booking, attendance="attended")
    headers = auth_headers(info["user"])
    codes = [client.post(f"/api/bookings/{booking.id}/certificate/email", json={},
                         headers=headers).status_code for _ in range(11)]
    assert codes[:10] == [202] * 10 and codes[10] == 429


def test_a_name_in_devanagari_still_downloads(client, db):
    """HTTP header values are Latin-1: the file name travels in the RFC 6266 UTF-8 form."""
    from urllib.parse import unquote

    booking, info = make_booking(status="completed", event_date=YESTERDAY(),
                                 child_names=("आरव",))
    info["event"].status = "completed"
    boundary.commit()
    resp = client.get(f"/api/bookings/{booking.id}/certificate", headers=auth_headers(info["user"]))
    assert resp.status_code == 200
    disposition = resp.headers["Content-Disposition"]
    disposition.encode("latin-1")  # what the server must be able to send
    assert f'filename="certificate-{booking.booking_number}-' in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]).endswith("-आरव.pdf")

"""SMS (Twilio) and WhatsApp (Meta Cloud API) over HTTP (mocked at transport level with
`responses`), marketing opt-out, and the day-before reminder sent once per booking."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import responses
from sqlalchemy import select

from nibog.core import boundary
from nibog.core.timeutil import today_ist
from nibog.extensions import db
from nibog.notifications.channels import CONSOLE_OUTBOX
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import queue_email, queue_sms
from nibog.notifications.tasks import send_event_reminders
from tests.documents.helpers import make_booking
from tests.factories import UserFactory

TWILIO = "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"


def _twilio(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_BACKEND", "twilio")
    monkeypatch.setitem(app.config, "TWILIO_ACCOUNT_SID", "AC123")
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "secret")
    monkeypatch.setitem(app.config, "TWILIO_SMS_FROM", "+15005550006")


@responses.activate
def test_sms_goes_through_twilio(app, monkeypatch):
    _twilio(app, monkeypatch)
    responses.add(responses.POST, TWILIO, json={"sid": "SM42", "status": "queued"}, status=201)
    entry = queue_sms("login_otp", "+919876500001", {"otp": "482913", "expires_minutes": 5})
    boundary.commit()
    [call] = responses.calls
    form = parse_qs(call.request.body)
    assert form["To"] == ["+919876500001"] and "482913" in form["Body"][0]
    assert call.request.headers["Authorization"].startswith("Basic ")
    db.session.expire_all()
    logged = db.session.get(NotificationLog, entry.id)
    assert logged.status == "sent" and logged.provider_message_id == "SM42"


@responses.activate
def test_sms_provider_refusal_fails_the_message(app, monkeypatch):
    _twilio(app, monkeypatch)
    responses.add(responses.POST, TWILIO, json={"message": "invalid To"}, status=400)
    entry = queue_sms("login_otp", "+919876500001", {"otp": "111111"})
    boundary.commit()
    db.session.expire_all()
    logged = db.session.get(NotificationLog, entry.id)
    assert logged.status == "failed" and "400" in logged.error


def test_marketing_respects_opt_out_but_transactional_always_goes(app):
    user = UserFactory(marketing_opt_in=False, full_name="Asha O'Brien")
    promo = queue_email("event_announcement", user.email, {"event_title": "Delhi Games"},
                        user_id=user.id)
    receipt = queue_email("welcome", user.email, {}, user_id=user.id)
    boundary.commit()
    assert promo.status == "suppressed" and "opted out" in promo.error
    assert [m["Subject"] for m in CONSOLE_OUTBOX] == ["Welcome to NIBOG, Asha O'Brien!"]
    db.session.expire_all()
    assert db.session.get(NotificationLog, receipt.id).status == "sent"

    fan = UserFactory(marketing_opt_in=True)
    queue_email("event_announcement", fan.email, {"event_title": "Delhi Games"}, user_id=fan.id)
    boundary.commit()
    assert CONSOLE_OUTBOX[-1]["Subject"] == "New NIBOG event: Delhi Games"


def test_reminder_the_day_before_goes_once_per_booking(app):
    tomorrow = today_ist() + timedelta(days=1)
    booking, info = make_booking(event_date=tomorrow, title="Kochi Games")
    unpaid, _ = make_booking(event=info["event"], status="pending_payment", child_names=("Riya",))
    later, _ = make_booking(event_date=tomorrow + timedelta(days=1))

    assert send_event_reminders() == 1
    logs = db.session.scalars(
        select(NotificationLog).where(NotificationLog.template == "event_reminder")
    ).all()
    assert {(log.channel, log.booking_id) for log in logs} == {
        ("email", booking.id), ("sms", booking.id)
    }
    mail = next(m for m in CONSOLE_OUTBOX if hasattr(m, "get_body"))
    assert "Kochi Games" in mail["Subject"]
    assert send_event_reminders() == 0  # hourly runs do not repeat it


def test_cancellation_email_shows_the_refund_in_rupees(app):
    booking, info = make_booking(status="cancelled")
    queue_email("booking_cancelled", info["user"].email,
                {"booking_id": booking.id, "refund_amount": 79900}, booking_id=booking.id)
    boundary.commit()
    text = CONSOLE_OUTBOX[-1].get_body(preferencelist=("plain",)).get_content()
    assert "A refund of ₹799 is on its way" in text


def test_ticket_email_for_a_booking_cancelled_meanwhile_fails_without_retrying(app):
    booking, info = make_booking(status="cancelled")
    entry = queue_email("booking_confirmed", info["user"].email, {"booking_id": booking.id},
                        booking_id=booking.id)
    boundary.commit()
    db.session.expire_all()
    logged = db.session.get(NotificationLog, entry.id)
    assert logged.status == "failed" and "ticket" in logged.error
    assert list(CONSOLE_OUTBOX) == []


def test_an_empty_address_fails_visibly_without_a_job(app):
    nowhere = queue_email("welcome", "", {})
    boundary.commit()
    assert list(CONSOLE_OUTBOX) == []
    db.session.expire_all()
    logged = db.session.get(NotificationLog, nowhere.id)
    assert logged.status == "failed" and logged.error == "no recipient address"


def test_a_bounced_address_is_logged_as_suppressed_and_sent_nothing(app):
    from nibog.notifications.service import suppress_email

    user = UserFactory()
    suppress_email(user.email)
    bounced = queue_email("welcome", f"  {user.email.upper()} ", {}, user_id=user.id)
    other = UserFactory()
    sent = queue_email("welcome", other.email, {}, user_id=other.id)
    boundary.commit()
    assert (bounced.recipient, bounced.status, bounced.error) == (
        user.email, "suppressed", "address bounced")
    assert [m["To"] for m in CONSOLE_OUTBOX] == [other.email]
    db.session.expire_all()
    assert db.session.get(NotificationLog, bounced.id).status == "suppressed"
    assert db.session.get(NotificationLog, sent.id).status == "sent"

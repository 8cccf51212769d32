"""Delivery and bounce receipts: signed, idempotent by event id; a bounced address gets no more
email until it is cleared (``clear_suppression``, called when the user's email changes)."""

from __future__ import annotations

import hashlib
import hmac
import json

from sqlalchemy import func, select

from nibog.core import boundary
from nibog.extensions import db
from nibog.notifications.channels import CONSOLE_OUTBOX
from nibog.notifications.models import EmailSuppression, NotificationLog
from nibog.notifications.service import clear_suppression, queue_email, queue_sms
from tests.factories import UserFactory
from tests.helpers import error_code


def _post(client, app, path, body, *, secret=None):
    raw = json.dumps(body).encode()
    key = (secret or app.config["NOTIFY_WEBHOOK_SECRET"]).encode()
    sig = hmac.new(key, raw, hashlib.sha256).hexdigest()
    return client.post(path, data=raw, content_type="application/json",
                       headers={"X-Nibog-Signature": sig})


def _sent_email(user):
    entry = queue_email("welcome", user.email, {}, user_id=user.id)
    boundary.commit()
    db.session.expire_all()
    return db.session.get(NotificationLog, entry.id)


def test_bad_signature_is_401_and_changes_nothing(client, app):
    user = UserFactory()
    entry = _sent_email(user)
    body = {"event_id": "evt-1", "notification_id": entry.id, "status": "delivered"}
    resp = _post(client, app, "/webhooks/email/delivery", body, secret="not-the-secret")
    assert resp.status_code == 401 and error_code(resp) == "invalid_signature"
    resp = client.post("/webhooks/email/delivery", json=body)  # unsigned
    assert resp.status_code == 401
    db.session.expire_all()
    assert db.session.get(NotificationLog, entry.id).status == "sent"


def test_delivery_receipt_marks_the_message_and_replay_is_harmless(client, app):
    user = UserFactory()
    entry = _sent_email(user)
    body = {"event_id": "evt-2", "message_id": entry.provider_message_id, "status": "delivered"}
    resp = _post(client, app, "/webhooks/email/delivery", body)
    assert resp.status_code == 200
    assert resp.get_json() == {"received": True, "duplicate": False,
                               "notification_id": entry.id, "status": "delivered"}
    db.session.expire_all()
    delivered_at = db.session.get(NotificationLog, entry.id).delivered_at
    assert delivered_at is not None

    resp = _post(client, app, "/webhooks/email/delivery", body)
    assert resp.status_code == 200 and resp.get_json()["duplicate"] is True
    db.session.expire_all()
    assert db.session.get(NotificationLog, entry.id).delivered_at == delivered_at


def test_bounce_suppresses_the_address_until_it_is_cleared(client, app):
    user = UserFactory()
    entry = _sent_email(user)
    body = {"event_id": "evt-3", "notification_id": entry.id, "reason": "mailbox does not exist"}
    resp = _post(client, app, "/webhooks/email/bounce", body)
    assert resp.status_code == 200
    db.session.expire_all()
    assert db.session.get(NotificationLog, entry.id).status == "bounced"
    # A late "delivered" for the same message does not undo the bounce.
    _post(client, app, "/webhooks/email/delivery",
          {"event_id": "evt-4", "notification_id": entry.id, "status": "delivered"})
    db.session.expire_all()
    assert db.session.get(NotificationLog, entry.id).status == "bounced"

    CONSOLE_OUTBOX.clear()
    again = queue_email("password_reset", user.email.upper(), {"reset_url": "x?token=1"},
                        user_id=user.id)
    boundary.commit()
    assert again.status == "suppressed" and list(CONSOLE_OUTBOX) == []

    # Replayed bounce: still one suppression.
    assert _post(client, app, "/webhooks/email/bounce", body).get_json()["duplicate"] is True
    assert db.session.scalar(select(func.count()).select_from(EmailSuppression)) == 1

    assert clear_suppression(user.email) is True
    boundary.commit()
    queue_email("password_reset", user.email, {"reset_url": "x?token=2"}, user_id=user.id)
    boundary.commit()
    assert [m["To"] for m in CONSOLE_OUTBOX] == [user.email]


def test_bounce_by_address_alone_and_soft_bounce(client, app):
    resp = _post(client, app, "/webhooks/email/bounce",
                 {"event_id": "evt-5", "email": "Gone@Example.com", "type": "soft"})
    assert resp.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(EmailSuppression)) == 0
    _post(client, app, "/webhooks/email/bounce", {"event_id": "evt-6", "email": "Gone@Example.com"})
    assert db.session.scalar(select(EmailSuppression.email)) == "gone@example.com"
    resp = _post(client, app, "/webhooks/email/bounce", {"event_id": "evt-7"})
    assert resp.status_code == 422


def test_sms_delivery_receipt(client, app):
    user = UserFactory()
    entry = queue_sms("login_otp", user.phone, {"otp": "123456", "expires_minutes": 5})
    boundary.commit()
    db.session.expire_all()
    sid = db.session.get(NotificationLog, entry.id).provider_message_id
    resp = _post(client, app, "/webhooks/sms/delivery",
                 {"event_id": "sms-1", "message_id": sid, "status": "undelivered",
                  "reason": "handset off"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "failed"
    resp = _post(client, app, "/webhooks/sms/delivery", {"status": "delivered"})
    assert resp.status_code == 422  # no event id


def test_twilio_signature_matches_twilios_published_vector():
    from nibog.notifications.receipts import twilio_signature

    params = [("CallSid", "CA1234567890ABCDE"), ("Digits", "1234"), ("From", "+14158675309"),
              ("To", "+18005551212"), ("Caller", "+14158675309")]
    assert twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
                            params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
                            repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_twilio_status_callback_marks_the_sms(client, app, monkeypatch):
    from nibog.notifications.receipts import twilio_signature

    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "twilio-test-token")
    monkeypatch.setitem(app.config, "TWILIO_STATUS_CALLBACK",
                        "https://nibog.example/webhooks/twilio/sms-status")
    user = UserFactory()
    entry = queue_sms("login_otp", user.phone, {"otp": "123456", "expires_minutes": 5})
    boundary.commit()
    db.session.expire_all()
    sid = db.session.get(NotificationLog, entry.id).provider_message_id

    def callback(status, token="twilio-test-token", **extra):
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC1", **extra}
        sig = twilio_signature(token, app.config["TWILIO_STATUS_CALLBACK"], list(form.items()))
        return client.post("/webhooks/twilio/sms-status", data=form,
                           headers={"X-Twilio-Signature": sig})

    forged = callback("delivered", token="someone-else")
    assert forged.status_code == 401 and error_code(forged) == "invalid_signature"
    sent = callback("sent")  # an intermediate status changes nothing
    assert sent.status_code == 200 and sent.get_json()["status"] == "sent"
    failed = callback("undelivered", ErrorCode="30003", ErrorMessage="Unreachable handset")
    assert failed.status_code == 200 and failed.get_json()["status"] == "failed"
    again = callback("undelivered", ErrorCode="30003", ErrorMessage="Unreachable handset")
    assert again.get_json() == {"received": True, "duplicate": True}
    late = callback("delivered")  # after a final failure, a late "delivered" does not win
    assert late.get_json()["status"] == "failed"
    db.session.expire_all()
    row = db.session.get(NotificationLog, entry.id)
    assert row.status == "failed" and "30003" in row.error


def test_a_captured_receipt_cannot_be_replayed_under_a_new_header_id(client, db):
    """The event id comes from the signed body: a replay with another X-Nibog-Event-Id header
    is still the same event (a duplicate that changes nothing)."""
    import hashlib
    import hmac
    import json

    from flask import current_app

    body = json.dumps({"event_id": "evt-replay", "email": "gone@example.com",
                       "type": "hard"}).encode()
    sig = hmac.new(current_app.config["NOTIFY_WEBHOOK_SECRET"].encode(), body,
                   hashlib.sha256).hexdigest()
    first = client.post("/webhooks/email/bounce", data=body, content_type="application/json",
                        headers={"X-Nibog-Signature": sig, "X-Nibog-Event-Id": "a"})
    again = client.post("/webhooks/email/bounce", data=body, content_type="application/json",
                        headers={"X-Nibog-Signature": sig, "X-Nibog-Event-Id": "b"})
    assert first.status_code == again.status_code == 200
    assert first.get_json()["duplicate"] is False and again.get_json()["duplicate"] is True


def test_a_signature_header_outside_ascii_is_401(client):
    resp = client.post("/webhooks/email/delivery", data=b"{}", content_type="application/json",
                       headers={"X-Nibog-Signature": "é"})
    assert resp.status_code == 401

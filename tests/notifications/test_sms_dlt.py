"""Indian SMS through Exotel with DLT: the entity id and the message type's template id on every
request (TRAI), a type without a registered template refused. Bodies follow Exotel's published
"Send SMS" reference; nothing leaves the machine (``responses``)."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import responses

from nibog.core import boundary
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import queue_sms

URL = "https://api.in.exotel.com/v1/Accounts/nibog1/Sms/send.json"


@pytest.fixture
def exotel(app, monkeypatch):
    for key, value in {
        "SMS_BACKEND": "exotel", "EXOTEL_ACCOUNT_SID": "nibog1", "EXOTEL_API_KEY": "key-1",
        "EXOTEL_API_TOKEN": "token-1", "EXOTEL_SMS_FROM": "NIBOGI",
        "SMS_DLT_ENTITY_ID": "1201159100000000001",
        "SMS_DLT_TEMPLATE_LOGIN_OTP": "1207161700000000042",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.send = rsps.post(URL, json={"SMSMessage": {
            "Sid": "b6aa3d2a5b1e4c8f9d0e1f2a3b4c5d6e", "AccountSid": "nibog1",
            "From": "NIBOGI", "To": "+919876500001", "Status": "queued",
            "DetailedStatusCode": 21010, "DetailedStatus": "PENDING_TO_OPERATOR",
            "SmsUnits": 1, "DateCreated": "2026-12-04 19:00:00",
        }})
        yield rsps


def _log(entry_id) -> NotificationLog:
    db.session.expire_all()
    return db.session.get(NotificationLog, entry_id)


def test_an_otp_carries_the_dlt_entity_and_template(app, exotel):
    entry = queue_sms("login_otp", "+919876500001", {"otp": "482913", "expires_minutes": 5})
    boundary.commit()
    request = exotel.send.calls[0].request
    form = parse_qs(request.body)
    assert form["DltEntityId"] == ["1201159100000000001"]
    assert form["DltTemplateId"] == ["1207161700000000042"]
    assert form["From"] == ["NIBOGI"] and form["To"] == ["+919876500001"]
    assert form["SmsType"] == ["transactional"] and "482913" in form["Body"][0]
    assert request.headers["Authorization"].startswith("Basic ")
    logged = _log(entry.id)
    assert (logged.status, logged.provider_message_id) == (
        "sent", "b6aa3d2a5b1e4c8f9d0e1f2a3b4c5d6e"
    )


def test_a_type_without_a_registered_template_is_refused_not_dropped(app, exotel):
    entry = queue_sms("phone_verify_otp", "+919876500001", {"otp": "111111"})
    boundary.commit()
    logged = _log(entry.id)
    assert logged.status == "failed" and "DLT template" in logged.error
    assert exotel.send.call_count == 0


def test_a_dlt_refusal_fails_the_message(app, exotel):
    exotel.replace(responses.POST, URL, status=400, json={"RestException": {
        "Status": 400, "Message": "DLT template id does not match the content"}})
    entry = queue_sms("login_otp", "+919876500001", {"otp": "482913"})
    boundary.commit()
    logged = _log(entry.id)
    assert logged.status == "failed" and "DLT template id does not match" in logged.error


# -- Exotel's delivery callback (form fields as Exotel's "Send SMS" reference lists them) -------
CALLBACK_TOKEN = "exotel-callback-secret-1"


def _sent_otp(app, exotel, monkeypatch):
    monkeypatch.setitem(app.config, "EXOTEL_CALLBACK_TOKEN", CALLBACK_TOKEN)
    monkeypatch.setitem(app.config, "EXOTEL_STATUS_CALLBACK",
                        f"https://nibog.example/webhooks/exotel/sms-status/{CALLBACK_TOKEN}")
    entry = queue_sms("login_otp", "+919876500001", {"otp": "123456", "expires_minutes": 5})
    boundary.commit()
    sent = parse_qs(exotel.send.calls[0].request.body)
    assert sent["StatusCallback"] == [app.config["EXOTEL_STATUS_CALLBACK"]]
    return entry.id


def _callback(client, status, code, detail, token=CALLBACK_TOKEN,
              sid="b6aa3d2a5b1e4c8f9d0e1f2a3b4c5d6e"):
    return client.post(f"/webhooks/exotel/sms-status/{token}", data={
        "SmsSid": sid, "To": "09876500001", "Status": status, "SmsUnits": "1",
        "DetailedStatus": detail, "DetailedStatusCode": code, "DateSent": "2026-12-04 19:00:05"})


def test_exotels_callback_marks_the_sms_delivered_once(app, client, exotel, monkeypatch):
    entry_id = _sent_otp(app, exotel, monkeypatch)
    queued = _callback(client, "submitted", "20002", "SUBMITTED_TO_CARRIER")
    assert queued.status_code == 200 and _log(entry_id).status == "sent"
    delivered = _callback(client, "sent", "20000", "DELIVERED_TO_HANDSET")
    assert delivered.status_code == 200 and delivered.get_json()["status"] == "delivered"
    first = _log(entry_id).delivered_at
    assert first is not None
    again = _callback(client, "sent", "20000", "DELIVERED_TO_HANDSET")  # Exotel's retry
    assert again.get_json() == {"received": True, "duplicate": True}
    assert _log(entry_id).delivered_at == first


def test_an_sms_a_carrier_refused_is_failed_with_exotels_reason(app, client, exotel, monkeypatch):
    entry_id = _sent_otp(app, exotel, monkeypatch)
    resp = _callback(client, "failed-dnd", "30007", "DND_NUMBER")
    assert resp.status_code == 200 and resp.get_json()["status"] == "failed"
    row = _log(entry_id)
    assert (row.status, row.error) == ("failed", "exotel failed-dnd 30007 DND_NUMBER")
    late = _callback(client, "sent", "20000", "DELIVERED_TO_HANDSET")
    assert late.get_json()["status"] == "failed", "a final failure is not overwritten"


def test_a_callback_without_the_secret_changes_nothing(app, client, exotel, monkeypatch):
    from tests.helpers import error_code

    entry_id = _sent_otp(app, exotel, monkeypatch)
    forged = _callback(client, "sent", "20000", "DELIVERED_TO_HANDSET", token="guessed")
    assert forged.status_code == 401 and error_code(forged) == "invalid_signature"
    monkeypatch.setitem(app.config, "EXOTEL_CALLBACK_TOKEN", "")  # not configured: none pass
    unset = _callback(client, "sent", "20000", "DELIVERED_TO_HANDSET", token="")
    assert unset.status_code in (401, 404, 405)
    assert _log(entry_id).status == "sent"
    monkeypatch.setitem(app.config, "EXOTEL_CALLBACK_TOKEN", CALLBACK_TOKEN)
    incomplete = client.post(f"/webhooks/exotel/sms-status/{CALLBACK_TOKEN}", data={"Status": "sent"})
    assert incomplete.status_code == 422 and error_code(incomplete) == "validation_error"

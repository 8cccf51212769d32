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

"""Messages that Amazon SNS itself signed, checked against the certificate SNS served for them.

The fixtures (tests/notifications/fixtures/sns/, sources in the README there) are four
notifications AWS's SDK team captured from a real topic in us-east-2 - SignatureVersion 1 and 2,
each with and without a Subject - and the SNS certificate they were signed with. Nothing here
signs anything: if our string to sign differs from SNS's in one byte (field order, a missing
Subject, a trailing newline) these signatures do not verify. The messages date from 2022, so the
clock is set to a minute after each was sent; production's freshness window is untouched, and
the last test shows the same messages refused at today's date.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses
from cryptography import x509

from nibog.core.errors import AppError
from nibog.notifications import ses

FIXTURES = Path(__file__).parent / "fixtures" / "sns"
CERT_NAME = "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"
CERT_URL = f"https://sns.us-east-2.amazonaws.com/{CERT_NAME}"
CAPTURED = ["notification_v1.json", "notification_v2.json",
            "notification_v1_subject.json", "notification_v2_subject.json"]


def _raw(name: str) -> str:
    return (FIXTURES / name).read_text()


class _Clock(datetime):
    """datetime whose now() is a set moment: a minute after SNS sent the message under test."""

    at = datetime(2022, 7, 28, tzinfo=UTC)

    @classmethod
    def now(cls, tz=None):
        return cls.at.astimezone(tz)


@pytest.fixture
def sns_cert(app, monkeypatch):
    topics = ",".join(json.loads(_raw(name))["TopicArn"] for name in CAPTURED)
    monkeypatch.setitem(app.config, "SES_SNS_TOPIC_ARNS", topics)
    ses._certs.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(CERT_URL, body=(FIXTURES / CERT_NAME).read_bytes())
        yield mock
    ses._certs.clear()


@pytest.fixture
def sent_clock(monkeypatch):
    def set_to(message: dict) -> dict:
        sent = datetime.fromisoformat(message["Timestamp"].replace("Z", "+00:00"))
        monkeypatch.setattr(_Clock, "at", sent + timedelta(minutes=1))
        return message

    monkeypatch.setattr(ses, "datetime", _Clock)
    return set_to


def _refused(message: dict) -> bool:
    try:
        ses.verify(message)
    except AppError as exc:
        assert exc.status == 401, exc
        return True
    return False


@pytest.mark.parametrize("name", CAPTURED)
def test_a_message_sns_signed_is_accepted(app, sns_cert, sent_clock, name):
    message = sent_clock(json.loads(_raw(name)))
    assert message["SigningCertURL"] == CERT_URL
    assert not _refused(message)


@pytest.mark.parametrize("name", CAPTURED)
def test_one_changed_character_in_the_message_is_refused(app, sns_cert, sent_clock, name):
    message = sent_clock(json.loads(_raw(name)))
    message["Message"] = message["Message"].replace("w", "W", 1)
    assert _refused(message)


@pytest.mark.parametrize("name", ["notification_v1_subject.json", "notification_v2_subject.json"])
def test_the_subject_is_signed_too(app, sns_cert, sent_clock, name):
    message = sent_clock(json.loads(_raw(name)))
    message["Subject"] = "Hello world!"
    assert _refused(message)
    del message["Subject"]
    assert _refused(message)


def test_the_webhook_takes_the_captured_body_past_the_signature(client, sns_cert, sent_clock):
    headers = {"x-amz-sns-message-type": "Notification"}
    raw = _raw("notification_v2.json")
    sent_clock(json.loads(raw))
    resp = client.post("/webhooks/ses", data=raw, content_type="text/plain; charset=UTF-8",
                       headers=headers)
    # Signed by SNS, so it gets as far as reading the SES event - and "Hello world" is none.
    assert resp.status_code == 422, resp.get_json()
    assert "Message" in json.dumps(resp.get_json())
    tampered = client.post("/webhooks/ses", data=raw.replace("Hello world", "Hello World"),
                           content_type="text/plain; charset=UTF-8", headers=headers)
    assert tampered.status_code == 401


def test_the_certificate_is_amazons_and_has_since_expired(sns_cert):
    cert = x509.load_pem_x509_certificate((FIXTURES / CERT_NAME).read_bytes())
    assert cert.subject.rfc4514_string() == "CN=sns.amazonaws.com"
    assert "OU=Server CA 1B,O=Amazon" in cert.issuer.rfc4514_string()
    # Valid when the messages were sent; our verifier (like AWS's SDK validators) uses only the
    # key, trusting the certificate because TLS to sns.<region>.amazonaws.com delivered it.
    assert cert.not_valid_before_utc < datetime(2022, 7, 28, tzinfo=UTC) < cert.not_valid_after_utc
    assert cert.not_valid_after_utc < datetime.now(UTC)


def test_the_same_messages_are_refused_as_stale_today(app, sns_cert):
    for name in CAPTURED:
        assert _refused(json.loads(_raw(name)))

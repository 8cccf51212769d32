"""Amazon SES notifications through SNS: signed by SNS, only for our topics; permanent bounces
and complaints stop e-mail to the address, deliveries mark the message."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from nibog.core import boundary
from nibog.extensions import db
from nibog.notifications import ses
from nibog.notifications.models import EmailSuppression, NotificationLog
from nibog.notifications.service import queue_email
from tests.factories import UserFactory
from tests.helpers import error_code

TOPIC = "arn:aws:sns:ap-south-1:123456789012:nibog-ses"
CERT_URL = (
    "https://sns.ap-south-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
)


@pytest.fixture(scope="module")
def signer():
    """A key pair and its certificate, standing in for SNS's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def sns(app, signer, monkeypatch):
    monkeypatch.setitem(app.config, "SES_SNS_TOPIC_ARNS", f"arn:aws:sns:x:1:other, {TOPIC}")
    ses._certs.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(CERT_URL, body=signer[1])
        yield mock
    ses._certs.clear()


def _message(signer, kind="Notification", version="2", **fields):
    message = {"Type": kind, "MessageId": fields.pop("MessageId", "sns-1"), "TopicArn": TOPIC,
               "Timestamp": fields.pop("Timestamp", _now_iso()), "SignatureVersion": version,
               "SigningCertURL": CERT_URL, **fields}
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = signer[0].sign(ses.string_to_sign(message), padding.PKCS1v15(), algorithm)
    message["Signature"] = base64.b64encode(signature).decode()
    return message


def _now_iso(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S.") + "123Z"


def _ses(signer, notification: dict, **fields):
    return _message(signer, Message=json.dumps(notification), **fields)


def _post(client, message):
    # SNS posts JSON with a text/plain content type.
    return client.post("/webhooks/ses", data=json.dumps(message), content_type="text/plain",
                       headers={"x-amz-sns-message-type": message["Type"]})


def _sent(user):
    entry = queue_email("welcome", user.email, {}, user_id=user.id)
    boundary.commit()
    db.session.expire_all()
    return db.session.get(NotificationLog, entry.id)


def _suppressed(email):
    return db.session.query(EmailSuppression).filter_by(email=email).count() == 1


def test_a_permanent_bounce_stops_email_and_a_replay_changes_nothing(client, sns, signer):
    user = UserFactory()
    entry = _sent(user)
    bounce = {"notificationType": "Bounce",
              "mail": {"messageId": "ses-id", "commonHeaders": {"messageId": entry.provider_message_id}},
              "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                         "bouncedRecipients": [{"emailAddress": user.email,
                                                "diagnosticCode": "smtp; 550 no such user"}]}}
    message = _ses(signer, bounce, version="1", Subject="Amazon SES Email Event Notification")
    resp = _post(client, message)
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    assert db.session.get(NotificationLog, entry.id).status == "bounced"
    assert _suppressed(user.email)
    again = _post(client, message)
    assert again.status_code == 200 and again.get_json()["events"] == [
        {"received": True, "duplicate": True}]


def test_a_transient_bounce_does_not_suppress(client, sns, signer):
    user = UserFactory()
    _sent(user)
    bounce = {"notificationType": "Bounce", "mail": {"messageId": "ses-2"},
              "bounce": {"bounceType": "Transient",
                         "bouncedRecipients": [{"emailAddress": user.email}]}}
    assert _post(client, _ses(signer, bounce, MessageId="sns-2")).status_code == 200
    assert not _suppressed(user.email)


def test_a_complaint_stops_email_and_a_delivery_marks_the_message(client, sns, signer):
    user = UserFactory()
    entry = _sent(user)
    delivery = {"notificationType": "Delivery",
                "mail": {"commonHeaders": {"messageId": entry.provider_message_id}}}
    assert _post(client, _ses(signer, delivery, MessageId="sns-3")).status_code == 200
    db.session.expire_all()
    assert db.session.get(NotificationLog, entry.id).status == "delivered"
    complaint = {"notificationType": "Complaint", "mail": {},
                 "complaint": {"complainedRecipients": [{"emailAddress": user.email}]}}
    assert _post(client, _ses(signer, complaint, MessageId="sns-4")).status_code == 200
    assert _suppressed(user.email)


def test_only_signed_messages_of_our_topics_count(client, sns, signer):
    user = UserFactory()
    bounce = {"notificationType": "Bounce", "mail": {},
              "bounce": {"bounceType": "Permanent",
                         "bouncedRecipients": [{"emailAddress": user.email}]}}
    forged = _ses(signer, bounce, MessageId="sns-5")
    forged["Message"] = forged["Message"].replace(user.email, "someone@else.test")
    other_topic = _ses(signer, bounce, MessageId="sns-6")
    other_topic["TopicArn"] = "arn:aws:sns:ap-south-1:999999999999:theirs"
    off_aws = _ses(signer, bounce, MessageId="sns-7")
    off_aws["SigningCertURL"] = "https://sns.ap-south-1.amazonaws.com.evil.test/cert.pem"
    for message in (forged, other_topic, off_aws):
        resp = _post(client, message)
        assert resp.status_code == 401 and error_code(resp) == "invalid_signature", message
    assert db.session.query(EmailSuppression).count() == 0


def test_a_subscription_to_our_topic_is_confirmed(client, sns, signer):
    subscribe = "https://sns.ap-south-1.amazonaws.com/?Action=ConfirmSubscription&Token=t"
    sns.get(subscribe, body="<ConfirmSubscriptionResponse/>")
    message = _message(signer, kind="SubscriptionConfirmation", MessageId="sns-8",
                       Message="You have chosen to subscribe", SubscribeURL=subscribe, Token="t")
    resp = _post(client, message)
    assert resp.status_code == 200 and resp.get_json()["subscribed"] is True
    assert [c.request.url for c in sns.calls if "ConfirmSubscription" in c.request.url] == [
        subscribe]


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.ap-south-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "https://sns.ap-south-1.amazonaws.com.evil.test/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "https://sns.ap-south-1.amazonaws.com/uploads/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "https://sns.ap-south-1.amazonaws.com/SimpleNotificationService-attacker.pem",
        "https://sns.ap-south-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem?x=1",
        "https://sns.ap-south-1.amazonaws.com:8443/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "https://evil@sns.ap-south-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "https://s3.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
    ],
    ids=["http", "lookalike-host", "other-region", "other-path", "not-hex", "query", "port",
         "userinfo", "not-sns"],
)
def test_the_certificate_url_must_be_snss_own(client, sns, signer, url):
    message = _message(signer, Message="{}", MessageId="sns-url", SigningCertURL=url)
    resp = _post(client, message)
    assert resp.status_code == 401 and error_code(resp) == "invalid_signature"
    assert not [c for c in sns.calls if c.request.url == url]  # never fetched


@pytest.mark.parametrize("delta", [timedelta(hours=-2), timedelta(minutes=30)],
                         ids=["stale", "future"])
def test_a_stale_or_future_timestamp_is_refused(client, sns, signer, delta):
    message = _message(signer, Message="{}", MessageId="sns-old", Timestamp=_now_iso(delta))
    resp = _post(client, message)
    assert resp.status_code == 401 and error_code(resp) == "invalid_signature"


def test_a_late_delivery_after_a_bounce_leaves_it_bounced(client, sns, signer):
    """SNS delivers out of order and more than once: a "Delivery" for a message that already
    bounced (sent later, or retried) is answered 2xx and does not bring the address back."""
    user = UserFactory()
    entry = _sent(user)
    headers = {"messageId": entry.provider_message_id}
    bounce = {"notificationType": "Bounce", "mail": {"commonHeaders": headers},
              "bounce": {"bounceType": "Permanent",
                         "bouncedRecipients": [{"emailAddress": user.email}]}}
    delivery = {"notificationType": "Delivery", "mail": {"commonHeaders": headers}}
    assert _post(client, _ses(signer, bounce, MessageId="sns-b")).status_code == 200
    for message_id in ("sns-d1", "sns-d1", "sns-d2"):  # late, its retry, and another copy
        assert _post(client, _ses(signer, delivery, MessageId=message_id)).status_code == 200
    db.session.expire_all()
    row = db.session.get(NotificationLog, entry.id)
    assert row.status == "bounced" and row.delivered_at is None
    assert _suppressed(user.email)

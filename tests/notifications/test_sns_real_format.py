"""SNS messages in the exact shape SNS posts them, signed independently of the code under test.

A message SNS signed cannot be verified offline for ever (its certificate is fetched from AWS and
rotates), so the test reproduces one: the body is an SES bounce notification in SNS's own JSON
layout (``"Key" : "value"`` lines, as AWS's "Verifying the signatures of Amazon SNS messages"
and SES's notification examples show them), the signing certificate is a leaf issued by a CA made
here - the shape of AWS's chain - served from a URL of SNS's form, and the string to sign is
written out by hand in AWS's documented order (``Message``, ``MessageId``, ``Subject`` if present,
``Timestamp``, ``TopicArn``, ``Type``; plus ``SubscribeURL`` and ``Token`` for subscription
messages), each name and value followed by a newline. The code's own ``string_to_sign`` is never
used here: a wrong field order in it fails these tests.
"""

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

from nibog.extensions import db
from nibog.notifications import ses
from nibog.notifications.models import EmailSuppression

REGION = "ap-south-1"
TOPIC = f"arn:aws:sns:{REGION}:123456789012:nibog-ses-notifications"
CERT_URL = (f"https://sns.{REGION}.amazonaws.com/"
            "SimpleNotificationService-6209c161c6221fdf56ec1eb5c821d112.pem")
UNSUBSCRIBE = (f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
               f"{TOPIC}:0f3a2b1c-7d2e-4b5a-9c8d-112233445566")


@pytest.fixture(scope="module")
def chain():
    """(leaf private key, leaf certificate PEM): a leaf issued by a local CA."""
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Local Test Root CA"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "Local Test Root CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")]))
        .issuer_name(ca.subject).public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    # The leaf really chains to the CA (what TLS to the SNS host vouches for in production).
    ca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes, padding.PKCS1v15(),
                           leaf.signature_hash_algorithm)
    return leaf_key, leaf.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def sns(app, chain, monkeypatch):
    monkeypatch.setitem(app.config, "SES_SNS_TOPIC_ARNS", TOPIC)
    ses._certs.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(CERT_URL, body=chain[1], content_type="application/x-x509-ca-cert")
        yield mock
    ses._certs.clear()


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "655Z"


def _bounce(email: str) -> str:
    return json.dumps({
        "notificationType": "Bounce",
        "bounce": {
            "feedbackId": "0102017c1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-000000",
            "bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": email, "action": "failed",
                                   "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": "2026-12-04T10:00:01.000Z", "remoteMtaIp": "203.0.113.5",
            "reportingMTA": "dsn; a8-50.smtp-out.amazonses.com",
        },
        "mail": {
            "timestamp": "2026-12-04T10:00:00.000Z", "source": "no-reply@nibog.in",
            "sourceArn": "arn:aws:ses:ap-south-1:123456789012:identity/nibog.in",
            "messageId": "0102017c1a2b3c4d-aaaa-bbbb-cccc-ddddeeeeffff-000000",
            "destination": [email],
        },
    })


def _raw_notification(key, version: str, message: str, message_id: str, timestamp: str,
                      *, order=None) -> str:
    """The body SNS posts, signed over the hand-written canonical string."""
    canonical = (
        f"Message\n{message}\n"
        f"MessageId\n{message_id}\n"
        f"Timestamp\n{timestamp}\n"
        f"TopicArn\n{TOPIC}\n"
        f"Type\nNotification\n"
    ) if order is None else order
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = base64.b64encode(key.sign(canonical.encode(), padding.PKCS1v15(), digest)).decode()
    fields = [
        ("Type", "Notification"), ("MessageId", message_id), ("TopicArn", TOPIC),
        ("Message", message), ("Timestamp", timestamp), ("SignatureVersion", version),
        ("Signature", signature), ("SigningCertURL", CERT_URL), ("UnsubscribeURL", UNSUBSCRIBE),
    ]
    return "{\n" + ",\n".join(f"  {json.dumps(k)} : {json.dumps(v)}" for k, v in fields) + "\n}"


def _post(client, raw: str, kind: str = "Notification"):
    return client.post(
        "/webhooks/ses", data=raw, content_type="text/plain; charset=UTF-8",
        headers={"x-amz-sns-message-type": kind,
                 "x-amz-sns-message-id": "9b5f7ee0-0000-4000-8000-000000000000",
                 "x-amz-sns-topic-arn": TOPIC, "User-Agent": "Amazon Simple Notification Service Agent"},
    )


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_bounce_signed_the_way_sns_signs_it_is_applied(client, sns, chain, version):
    raw = _raw_notification(chain[0], version, _bounce("gone@example.com"),
                            f"3f8a1c2e-{version}b4d-4e6f-8a9b-0c1d2e3f4a5b", _timestamp())
    resp = _post(client, raw)
    assert resp.status_code == 200, resp.get_json()
    assert db.session.query(EmailSuppression).filter_by(email="gone@example.com").count() == 1


def test_a_signature_over_another_field_order_is_refused(client, sns, chain):
    message, message_id, ts = _bounce("kept@example.com"), "5d6e7f80-aaaa-4bbb-8ccc-0123456789ab", \
        _timestamp()
    alphabetical_with_extras = (
        f"Message\n{message}\nMessageId\n{message_id}\nSignatureVersion\n2\n"
        f"Timestamp\n{ts}\nTopicArn\n{TOPIC}\nType\nNotification\n"
    )
    raw = _raw_notification(chain[0], "2", message, message_id, ts,
                            order=alphabetical_with_extras)
    resp = _post(client, raw)
    assert resp.status_code == 401
    assert db.session.query(EmailSuppression).count() == 0


def test_a_subscription_confirmation_signed_over_its_own_fields(client, sns, chain):
    token = "2336412f37fb687f5d51e6e2425ba1f30ff5ad5c2f4a3d6a2f08e1e1a7d3f3c6"
    subscribe = (f"https://sns.{REGION}.amazonaws.com/?Action=ConfirmSubscription"
                 f"&TopicArn={TOPIC}&Token={token}")
    message = (f"You have chosen to subscribe to the topic {TOPIC}.\n"
               "To confirm the subscription, visit the SubscribeURL included in this message.")
    message_id, ts = "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", _timestamp()
    canonical = (f"Message\n{message}\nMessageId\n{message_id}\nSubscribeURL\n{subscribe}\n"
                 f"Timestamp\n{ts}\nToken\n{token}\nTopicArn\n{TOPIC}\n"
                 f"Type\nSubscriptionConfirmation\n")
    signature = base64.b64encode(
        chain[0].sign(canonical.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    body = {"Type": "SubscriptionConfirmation", "MessageId": message_id, "Token": token,
            "TopicArn": TOPIC, "Message": message, "SubscribeURL": subscribe,
            "Timestamp": ts, "SignatureVersion": "2", "Signature": signature,
            "SigningCertURL": CERT_URL}
    sns.get(subscribe, body="<ConfirmSubscriptionResponse/>")
    resp = _post(client, json.dumps(body, indent=2), kind="SubscriptionConfirmation")
    assert resp.status_code == 200 and resp.get_json()["subscribed"] is True

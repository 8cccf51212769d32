"""Amazon SES notifications (bounce, complaint, delivery) as SNS delivers them.

SNS signs every message with a certificate it serves from
``https://sns.<region>.amazonaws.com/SimpleNotificationService-<hex>.pem`` (AWS's own rule for
the URL, checked before anything is fetched; the region must be the topic's). The signature covers
the message's fields in SNS's documented order, SHA1 for ``SignatureVersion`` 1 and SHA256 for 2;
a ``Timestamp`` older than ``SNS_MAX_MESSAGE_AGE_SECONDS`` (or from the future) is refused, so a
captured message cannot be replayed later. The signature proves AWS sent the message, not that it
came from *our* topic (anyone can create a topic), so only the topics listed in
``SES_SNS_TOPIC_ARNS`` are accepted. A subscription is confirmed by fetching its
``SubscribeURL``, again only for a listed topic and an SNS address.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from flask import current_app

from nibog.core.errors import AppError, ValidationFailed
from nibog.notifications import receipts

# As AWS's SDKs check it (China's regions end in .com.cn).
_AWS_HOST = re.compile(r"^sns\.([a-z0-9-]{3,})\.amazonaws\.com(\.cn)?$")
_CERT_PATH = re.compile(r"^/SimpleNotificationService-[0-9a-f]{32}\.pem$")
MAX_MESSAGE_AGE_SECONDS = 3600
FUTURE_SKEW_SECONDS = 300
# The fields each message type signs, in the order SNS signs them.
_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}

_certs: dict[str, Any] = {}
_certs_lock = threading.Lock()


def _refuse(message: str) -> AppError:
    return AppError("invalid_signature", message, 401)


def _aws_url(url: str, region: str | None = None) -> bool:
    """An https address on sns.<region>.amazonaws.com - no port, no user, the topic's region."""
    try:
        parsed = urlparse(url or "")
        port = parsed.port
    except ValueError:
        return False
    match = _AWS_HOST.match(parsed.netloc or "")
    return (
        parsed.scheme == "https" and match is not None and port is None
        and (region is None or match.group(1) == region)
    )


def signing_cert_url_ok(url: str, region: str | None) -> bool:
    parsed = urlparse(url or "")
    return (
        _aws_url(url, region) and bool(_CERT_PATH.match(parsed.path))
        and not parsed.query and not parsed.fragment and not parsed.params
    )


def _topic_region(topic_arn: str) -> str | None:
    parts = (topic_arn or "").split(":")
    return parts[3] if len(parts) >= 6 and parts[0] == "arn" and parts[2] == "sns" else None


def _fresh(timestamp: str | None) -> bool:
    try:
        sent = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        return False
    if sent.tzinfo is None:
        return False
    max_age = int(current_app.config.get("SNS_MAX_MESSAGE_AGE_SECONDS") or MAX_MESSAGE_AGE_SECONDS)
    age = (datetime.now(UTC) - sent).total_seconds()
    return -FUTURE_SKEW_SECONDS <= age <= max_age


def string_to_sign(message: dict) -> bytes:
    fields = _SIGNED[message["Type"]]
    return "".join(
        f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None
    ).encode()


def _public_key(url: str):
    with _certs_lock:
        key = _certs.get(url)
    if key is None:
        try:
            resp = requests.get(url, timeout=5)
            resp.raise_for_status()
            key = x509.load_pem_x509_certificate(resp.content).public_key()
        except (requests.RequestException, ValueError) as exc:
            raise AppError("signing_cert_unavailable",
                           "Could not load the SNS signing certificate", 503) from exc
        with _certs_lock:
            _certs[url] = key
    return key


def verify(message: dict) -> None:
    """Raise unless SNS signed this message, for one of our topics."""
    allowed = {arn.strip() for arn in current_app.config.get("SES_SNS_TOPIC_ARNS", "").split(",")
               if arn.strip()}
    if message.get("TopicArn") not in allowed:
        raise _refuse("Not a topic this server subscribes to")
    if message.get("Type") not in _SIGNED:
        raise _refuse("Unknown SNS message type")
    algorithm = _HASHES.get(str(message.get("SignatureVersion")))
    region = _topic_region(message["TopicArn"])
    if algorithm is None or not signing_cert_url_ok(message.get("SigningCertURL", ""), region):
        raise _refuse("Unexpected SNS signing certificate or version")
    if not _fresh(message.get("Timestamp")):
        raise _refuse("SNS message is too old (or dated in the future)")
    try:
        signature = base64.b64decode(message.get("Signature") or "", validate=True)
        _public_key(message["SigningCertURL"]).verify(
            signature, string_to_sign(message), padding.PKCS1v15(), algorithm()
        )
    except (InvalidSignature, ValueError):
        raise _refuse("SNS signature does not match") from None


def handle(message: dict) -> dict:
    """Act on a verified SNS message. Flushes; the view commits."""
    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        url = message.get("SubscribeURL", "")
        if not _aws_url(url, _topic_region(message.get("TopicArn", ""))):
            raise ValidationFailed({"SubscribeURL": ["Not an SNS address"]})
        try:
            requests.get(url, timeout=10).raise_for_status()
        except requests.RequestException as exc:
            raise AppError("subscription_failed", "Could not confirm the subscription", 502) from exc
        return {"received": True, "subscribed": True}
    if kind == "UnsubscribeConfirmation":
        return {"received": True}
    try:
        body = json.loads(message.get("Message") or "")
    except ValueError:
        raise ValidationFailed({"Message": ["Not an SES notification"]}) from None
    if not isinstance(body, dict):
        raise ValidationFailed({"Message": ["Not an SES notification"]})
    return _ses_event(message["MessageId"], body)


def _ses_event(sns_id: str, body: dict) -> dict:
    mail = body.get("mail") or {}
    message_id = (mail.get("commonHeaders") or {}).get("messageId") or mail.get("messageId")
    event = (body.get("notificationType") or body.get("eventType") or "").lower()
    results = []
    if event == "bounce":
        bounce = body.get("bounce") or {}
        # Transient and undetermined bounces may deliver later: only a permanent one suppresses.
        hard = bounce.get("bounceType") == "Permanent"
        for i, rcpt in enumerate(bounce.get("bouncedRecipients") or []):
            results.append(receipts.record_receipt("email_bounce", f"{sns_id}:{i}", {
                "email": rcpt.get("emailAddress"), "message_id": message_id,
                "type": "hard" if hard else "soft",
                "reason": rcpt.get("diagnosticCode") or bounce.get("bounceSubType") or "bounce",
            }))
    elif event == "complaint":
        complaint = body.get("complaint") or {}
        for i, rcpt in enumerate(complaint.get("complainedRecipients") or []):
            results.append(receipts.record_complaint(f"{sns_id}:{i}", rcpt.get("emailAddress")))
    elif event == "delivery":
        results.append(receipts.record_receipt("email_delivery", sns_id, {
            "message_id": message_id, "status": "delivered",
        }))
    return {"received": True, "events": results}

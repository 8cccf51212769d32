"""Amazon SES notifications (bounce, complaint, delivery) as SNS delivers them.

SNS signs every message with a certificate it serves from an ``sns.<region>.amazonaws.com``
address; the signature proves AWS sent the message, not that it came from *our* topic (anyone
can create a topic), so only the topics listed in ``SES_SNS_TOPIC_ARNS`` are accepted. A
subscription is confirmed by fetching its ``SubscribeURL``, again only for a listed topic.
"""

from __future__ import annotations

import base64
import json
import re
import threading
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

_AWS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
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


def _aws_url(url: str) -> bool:
    parsed = urlparse(url or "")
    return parsed.scheme == "https" and bool(_AWS_HOST.match(parsed.hostname or ""))


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
    if algorithm is None or not _aws_url(message.get("SigningCertURL", "")):
        raise _refuse("Unexpected SNS signing certificate or version")
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
        if not _aws_url(url):
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

"""Delivery receipts from providers: delivered, bounced, failed. Idempotent by event id.

A receipt names its message by our log id (``notification_id``, echoed from the
``X-Nibog-Notification`` header) or by the provider's id (``message_id``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from nibog.core.errors import AppError
from nibog.core.secrets_compare import constant_time_equal
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import suppress_email
from nibog.payments.models import WebhookEvent

# A later, weaker status never overwrites a final one (a late "delivered" after a bounce).
_FINAL = {"bounced", "failed"}


def verify_signature(raw: bytes, signature: str | None) -> None:
    secret = current_app.config.get("NOTIFY_WEBHOOK_SECRET", "")
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    if not secret or not signature or not constant_time_equal(expected, signature.strip().lower()):
        raise AppError("invalid_signature", "Webhook signature does not match", 401)


def twilio_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1 of the callback URL followed by every
    POST parameter as name + value, sorted (a repeated name by value too)."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_twilio_signature(url: str, params: list[tuple[str, str]], signature: str | None) -> None:
    token = current_app.config.get("TWILIO_AUTH_TOKEN", "")
    if not token or not signature or not constant_time_equal(
        twilio_signature(token, url, params), signature.strip()
    ):
        raise AppError("invalid_signature", "Webhook signature does not match", 401)


def verify_exotel_token(token: str) -> None:
    expected = current_app.config.get("EXOTEL_CALLBACK_TOKEN", "")
    if not expected or not constant_time_equal(expected, token):
        raise AppError("invalid_signature", "Webhook token does not match", 401)


# Exotel's SMS states (Status, DetailedStatusCode) as receipts read them: "sent" with 20000
# (DELIVERED_TO_HANDSET) is a delivery; the rest of "sent" and the queued states change nothing.
EXOTEL_FAILED = frozenset({"failed", "failed_dnd", "undelivered", "expired"})


def exotel_status(status: str, detailed_code: str) -> str:
    status = status.strip().lower().replace("-", "_")
    if status == "delivered" or (status == "sent" and detailed_code.strip() == "20000"):
        return "delivered"
    return "failed" if status in EXOTEL_FAILED else status


def _claim_event(provider: str, event_id: str, event_type: str, payload: dict) -> bool:
    """Record the event; False if it was seen before (a replay)."""
    if db.session.get_bind().dialect.name == "postgresql":
        inserted = db.session.execute(
            pg_insert(WebhookEvent)
            .values(provider=provider, event_id=event_id, event_type=event_type, payload=payload,
                    processed=True)
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(WebhookEvent.id)
        ).scalar()
        return inserted is not None
    seen = db.session.scalar(
        select(WebhookEvent.id).where(WebhookEvent.provider == provider, WebhookEvent.event_id == event_id)
    )
    if seen:
        return False
    db.session.add(WebhookEvent(provider=provider, event_id=event_id, event_type=event_type,
                                payload=payload, processed=True))
    db.session.flush()
    return True


def _find_entry(payload: dict, channel: str) -> NotificationLog | None:
    stmt = select(NotificationLog).where(NotificationLog.channel == channel).with_for_update()
    if payload.get("notification_id"):
        try:
            log_id = int(payload["notification_id"])
        except (TypeError, ValueError):
            return None
        return db.session.scalar(stmt.where(NotificationLog.id == log_id))
    if payload.get("message_id"):
        return db.session.scalar(
            stmt.where(NotificationLog.provider_message_id == str(payload["message_id"]))
        )
    return None


def record_receipt(kind: str, event_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """kind: email_delivery | email_bounce | sms_delivery | whatsapp_delivery. Flushes; the view
    commits."""
    channel = {"sms_delivery": "sms", "whatsapp_delivery": "whatsapp"}.get(kind, "email")
    if not _claim_event(f"notify-{channel}", event_id, kind, payload):
        return {"received": True, "duplicate": True}
    entry = _find_entry(payload, channel)
    status = str(payload.get("status") or "").lower()
    if kind == "email_bounce":
        email = payload.get("email") or (entry.recipient if entry else None)
        if payload.get("type", "hard") != "soft" and email:
            suppress_email(email, reason=f"bounce: {payload.get('reason') or 'hard bounce'}")
        new_status = "bounced"
    elif status in ("delivered", "read"):  # WhatsApp: read implies delivered
        new_status = "delivered"
    elif status in ("failed", "undelivered", "rejected"):
        new_status = "failed"
    else:
        new_status = None  # intermediate states (accepted, sent, queued) change nothing
    if entry is not None and new_status and entry.status not in _FINAL:
        entry.status = new_status
        if new_status == "delivered":
            # The first delivery's time stands: a "delivered" after "read" (Meta does not keep
            # the order) or a repeat under a new event id does not move it.
            entry.delivered_at = entry.delivered_at or utcnow()
        elif payload.get("reason"):
            entry.error = str(payload["reason"])[:2000]
    db.session.flush()
    return {
        "received": True,
        "duplicate": False,
        "notification_id": entry.id if entry else None,
        "status": entry.status if entry else None,
    }


def record_complaint(event_id: str, email: str | None) -> dict[str, Any]:
    """The recipient marked our e-mail as spam: no more e-mail to that address. Flushes."""
    if not _claim_event("notify-email", event_id, "email_complaint", {"email": email}):
        return {"received": True, "duplicate": True}
    if email:
        suppress_email(email, reason="complaint")
    db.session.flush()
    return {"received": True, "duplicate": False, "suppressed": bool(email)}

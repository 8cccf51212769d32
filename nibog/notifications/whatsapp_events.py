"""WhatsApp Cloud API webhooks: message statuses and the parent's STOP / START.

Meta signs each POST with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed
with the app secret>``; nothing is read before it verifies. A ``statuses`` entry (``sent``,
``delivered``, ``read``, ``failed``) updates the notification log by the message id the send
returned; a text ``STOP`` (or ``UNSUBSCRIBE``) from a parent, or a tap on an opt-out quick-reply
button (Meta's "Stop promotions", or one of ours whose text or payload is a stop word), stops
WhatsApp messages to that number, ``START`` resumes them.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app

from nibog.core.errors import AppError
from nibog.core.secrets_compare import constant_time_equal
from nibog.notifications import receipts
from nibog.notifications.service import opt_in_whatsapp, opt_out_whatsapp

# "Stop promotions" is the label of Meta's marketing opt-out quick-reply button.
STOP_WORDS = {"STOP", "UNSUBSCRIBE", "STOP ALL", "OPT OUT", "OPTOUT", "STOP PROMOTIONS"}
START_WORDS = {"START", "SUBSCRIBE", "UNSTOP"}


def verify_signature(raw: bytes, header: str | None) -> None:
    secret = current_app.config.get("WHATSAPP_APP_SECRET", "")
    expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    if not secret or not header or not constant_time_equal(expected, header.strip().lower()):
        raise AppError("invalid_signature", "Webhook signature does not match", 401)


def verify_subscription(mode: str | None, token: str | None, challenge: str | None) -> str:
    """Meta's registration handshake: echo the challenge if the verify token is ours."""
    expected = current_app.config.get("WHATSAPP_VERIFY_TOKEN", "")
    if mode != "subscribe" or not expected or not constant_time_equal(expected, token):
        raise AppError("forbidden", "Verification token does not match", 403)
    return challenge or ""


def handle(body: dict[str, Any]) -> dict[str, Any]:
    """Apply a verified webhook body. Flushes; the view commits."""
    statuses = opted_out = opted_in = 0
    for entry in body.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            for status in value.get("statuses") or []:
                _status(status)
                statuses += 1
            for message in value.get("messages") or []:
                words = _words(message or {})
                sender = str((message or {}).get("from") or "")
                if words & STOP_WORDS and opt_out_whatsapp(sender, reason=_stop_reason(message)):
                    opted_out += 1
                elif words & START_WORDS and opt_in_whatsapp(sender):
                    opted_in += 1
    return {"received": True, "statuses": statuses, "opted_out": opted_out,
            "opted_in": opted_in}


def _words(message: dict[str, Any]) -> set[str]:
    """What the parent said: typed text, a template's quick-reply button (``type: button``,
    its ``text`` and ``payload``), or an interactive reply button (``button_reply``), each
    upper-cased with runs of spaces (and a payload's ``_``) made one space."""
    button = message.get("button") or {}
    reply = (message.get("interactive") or {}).get("button_reply") or {}
    said = ((message.get("text") or {}).get("body"), button.get("text"), button.get("payload"),
            reply.get("title"), reply.get("id"))
    return {" ".join(str(s).replace("_", " ").upper().split()) for s in said if s}


def _stop_reason(message: dict[str, Any]) -> str:
    return "wrote STOP" if message.get("type") == "text" else "tapped an opt-out button"


def _status(status: dict[str, Any]) -> None:
    message_id = str(status.get("id") or "")
    state = str(status.get("status") or "").lower()
    if not message_id or not state:
        return
    payload: dict[str, Any] = {"message_id": message_id, "status": state}
    errors = status.get("errors") or []
    if errors:
        first = errors[0] or {}
        detail = (first.get("error_data") or {}).get("details") or first.get("message") or ""
        payload["reason"] = f"whatsapp {first.get('code')}: {first.get('title')} {detail}".strip()
    # One event per message and status: Meta's retries of the same delivery change nothing.
    receipts.record_receipt("whatsapp_delivery", f"{message_id}:{state}", payload)

"""SMS: ``SMS_BACKEND=console`` (default) or ``twilio`` (``TWILIO_ACCOUNT_SID``,
``TWILIO_AUTH_TOKEN``, ``TWILIO_SMS_FROM``; delivery reports arrive on ``/webhooks/sms/delivery``
when ``TWILIO_STATUS_CALLBACK`` is set)."""

from __future__ import annotations

import logging
import uuid

from flask import current_app

from nibog.notifications.channels import (
    CONSOLE_OUTBOX,
    ChannelError,
    OutgoingMessage,
    keep_console_copy,
    masked,
)

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"


class ConsoleSms:
    name = "console"
    channel = "sms"

    def send(self, msg: OutgoingMessage) -> str:
        CONSOLE_OUTBOX.append(msg)
        keep_console_copy(self.channel, msg.to, "", msg.body)
        log.info("%s (console) to=%s", self.channel, masked(msg.to))
        return f"console-{uuid.uuid4().hex}"


def post_provider(url: str, *, data=None, json=None, auth=None, headers=None) -> dict:
    """POST to a provider: network errors, 429 and 5xx are transient; other 4xx are not."""
    import requests

    try:
        resp = requests.post(url, data=data, json=json, auth=auth, headers=headers, timeout=15)
    except requests.RequestException as exc:
        raise ChannelError(f"provider unreachable: {exc}", transient=True) from exc
    if resp.status_code == 429 or resp.status_code >= 500:
        raise ChannelError(f"provider {resp.status_code}: {resp.text[:300]}", transient=True)
    if resp.status_code >= 400:
        raise ChannelError(f"provider refused {resp.status_code}: {resp.text[:300]}", transient=False)
    try:
        return resp.json()
    except ValueError:
        return {}


class TwilioSms:
    name = "twilio"

    def send(self, msg: OutgoingMessage) -> str:
        cfg = current_app.config
        sid, token = cfg.get("TWILIO_ACCOUNT_SID"), cfg.get("TWILIO_AUTH_TOKEN")
        if not (sid and token and cfg.get("TWILIO_SMS_FROM")):
            raise ChannelError("twilio is not configured", transient=False)
        data = {"To": msg.to, "From": cfg["TWILIO_SMS_FROM"], "Body": msg.body}
        if cfg.get("TWILIO_STATUS_CALLBACK"):
            data["StatusCallback"] = cfg["TWILIO_STATUS_CALLBACK"]
        body = post_provider(TWILIO_API.format(sid=sid), data=data, auth=(sid, token))
        return body.get("sid") or f"twilio-{uuid.uuid4().hex}"


def backend(name: str):
    if name == "twilio":
        return TwilioSms()
    if name == "console":
        return ConsoleSms()
    raise ValueError(f"unknown SMS_BACKEND {name!r}")

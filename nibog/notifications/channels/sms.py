"""SMS: ``SMS_BACKEND=console`` (default), ``exotel`` (India, DLT) or ``twilio``.

India's carriers deliver an SMS only if it carries the sender's DLT entity id and the DLT id of
a template the text matches (TRAI's rules): ``exotel`` sends ``DltEntityId``
(``SMS_DLT_ENTITY_ID``) and the ``DltTemplateId`` of the message type (``SMS_DLT_TEMPLATE_<TYPE>``,
e.g. ``SMS_DLT_TEMPLATE_LOGIN_OTP``), from a DLT-registered header (``EXOTEL_SMS_FROM``), and
refuses a type without a registered template rather than have the carrier drop it silently.
Settings: ``EXOTEL_ACCOUNT_SID``, ``EXOTEL_API_KEY``, ``EXOTEL_API_TOKEN``, ``EXOTEL_SUBDOMAIN``,
``EXOTEL_STATUS_CALLBACK``.
``twilio``: ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, ``TWILIO_SMS_FROM``; delivery reports
arrive on ``/webhooks/twilio/sms-status`` when ``TWILIO_STATUS_CALLBACK`` is set."""

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


EXOTEL_API = "https://{subdomain}/v1/Accounts/{sid}/Sms/send.json"


class ExotelSms:
    name = "exotel"

    def send(self, msg: OutgoingMessage) -> str:
        cfg = current_app.config
        sid, key, token = (cfg.get("EXOTEL_ACCOUNT_SID"), cfg.get("EXOTEL_API_KEY"),
                           cfg.get("EXOTEL_API_TOKEN"))
        if not (sid and key and token and cfg.get("EXOTEL_SMS_FROM")
                and cfg.get("SMS_DLT_ENTITY_ID")):
            raise ChannelError("exotel / DLT is not configured", transient=False)
        if msg.template is None:
            raise ChannelError("no DLT template registered for this message type",
                               transient=False)
        data = {
            "From": cfg["EXOTEL_SMS_FROM"],
            "To": msg.to,
            "Body": msg.body,
            "DltEntityId": cfg["SMS_DLT_ENTITY_ID"],
            "DltTemplateId": msg.template.name,
            "SmsType": "transactional",
        }
        if cfg.get("EXOTEL_STATUS_CALLBACK"):
            data["StatusCallback"] = cfg["EXOTEL_STATUS_CALLBACK"]
        url = EXOTEL_API.format(subdomain=cfg.get("EXOTEL_SUBDOMAIN") or "api.in.exotel.com",
                                sid=sid)
        body = post_provider(url, data=data, auth=(key, token))
        return (body.get("SMSMessage") or {}).get("Sid") or f"exotel-{uuid.uuid4().hex}"


def backend(name: str):
    if name == "exotel":
        return ExotelSms()
    if name == "twilio":
        return TwilioSms()
    if name == "console":
        return ConsoleSms()
    raise ValueError(f"unknown SMS_BACKEND {name!r}")

"""WhatsApp: ``WHATSAPP_BACKEND=console`` (default) or ``meta`` (WhatsApp Business Cloud API:
``WHATSAPP_TOKEN``, ``WHATSAPP_PHONE_NUMBER_ID``). Plain text messages only; outside the 24-hour
customer window Meta requires approved templates, which is an account setup matter."""

from __future__ import annotations

from flask import current_app

from nibog.notifications.channels import ChannelError, OutgoingMessage
from nibog.notifications.channels.sms import ConsoleSms, post_provider

GRAPH_API = "https://graph.facebook.com/v19.0/{phone_id}/messages"


class ConsoleWhatsApp(ConsoleSms):
    channel = "whatsapp"


class MetaWhatsApp:
    name = "meta"

    def send(self, msg: OutgoingMessage) -> str:
        cfg = current_app.config
        token, phone_id = cfg.get("WHATSAPP_TOKEN"), cfg.get("WHATSAPP_PHONE_NUMBER_ID")
        if not (token and phone_id):
            raise ChannelError("whatsapp is not configured", transient=False)
        body = post_provider(
            GRAPH_API.format(phone_id=phone_id),
            json={
                "messaging_product": "whatsapp",
                "to": msg.to.lstrip("+"),
                "type": "text",
                "text": {"body": msg.body},
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        messages = body.get("messages") or [{}]
        return messages[0].get("id") or ""


def backend(name: str):
    if name == "meta":
        return MetaWhatsApp()
    if name == "console":
        return ConsoleWhatsApp()
    raise ValueError(f"unknown WHATSAPP_BACKEND {name!r}")

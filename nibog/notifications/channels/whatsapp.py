"""WhatsApp: ``WHATSAPP_BACKEND=console`` (default) or ``meta`` (WhatsApp Business Cloud API:
``WHATSAPP_TOKEN``, ``WHATSAPP_PHONE_NUMBER_ID``, ``WHATSAPP_GRAPH_VERSION``).

Meta delivers a business-initiated message only as an approved *template* (free text is refused
outside the 24 hours after the parent last wrote to us): confirmations, reminders and
certificates go as the templates named in ``WHATSAPP_TEMPLATE_*`` with their parameters
(``nibog.notifications.templates.whatsapp_template``); a message without one goes as text, for
replies inside the window. Delivery statuses come back on ``/webhooks/whatsapp``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from nibog.notifications.channels import ChannelError, OutgoingMessage
from nibog.notifications.channels.sms import ConsoleSms, post_provider

GRAPH_HOST = "https://graph.facebook.com"
# A Graph API version lives about two years; v19.0 (the old pin) is past its end.
DEFAULT_GRAPH_VERSION = "v24.0"


def messages_url(version: str, phone_id: str) -> str:
    return f"{GRAPH_HOST}/{version}/{phone_id}/messages"


def message_body(msg: OutgoingMessage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": msg.to.lstrip("+"),
    }
    if msg.template is not None:
        template: dict[str, Any] = {
            "name": msg.template.name,
            "language": {"code": msg.template.language},
        }
        if msg.template.parameters:
            template["components"] = [{
                "type": "body",
                "parameters": [{"type": "text", "text": str(p)} for p in msg.template.parameters],
            }]
        body.update(type="template", template=template)
    else:
        body.update(type="text", text={"preview_url": False, "body": msg.body})
    return body


class ConsoleWhatsApp(ConsoleSms):
    channel = "whatsapp"


class MetaWhatsApp:
    name = "meta"

    def send(self, msg: OutgoingMessage) -> str:
        cfg = current_app.config
        token, phone_id = cfg.get("WHATSAPP_TOKEN"), cfg.get("WHATSAPP_PHONE_NUMBER_ID")
        if not (token and phone_id):
            raise ChannelError("whatsapp is not configured", transient=False)
        version = cfg.get("WHATSAPP_GRAPH_VERSION") or DEFAULT_GRAPH_VERSION
        body = post_provider(
            messages_url(version, phone_id),
            json=message_body(msg),
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

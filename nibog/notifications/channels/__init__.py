"""Delivery channels: email, SMS, WhatsApp. Each has a console backend (nothing leaves the
machine; development and tests) and one real provider, chosen by configuration."""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field

# Console backends keep the last messages here so a developer (or a test) can look at them.
# Never in the log: a message carries codes and links that sign in, and its address is
# personal data. The log line names the channel, a masked address and the subject only; in
# development the whole message is also appended to CONSOLE_OUTBOX_FILE.
CONSOLE_OUTBOX: deque = deque(maxlen=200)


def masked(address: str) -> str:
    """``a***@example.com``, ``+91******5678``: enough to tell messages apart in a log."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return address[:3] + "*" * max(0, len(address) - 7) + address[-4:] if len(address) > 7 \
        else "*" * len(address)


def keep_console_copy(channel: str, to: str, subject: str, body: str) -> None:
    """Append the whole message to ``CONSOLE_OUTBOX_FILE`` (development), if set."""
    from flask import current_app

    path = current_app.config.get("CONSOLE_OUTBOX_FILE")
    if not path:
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"--- {channel} to {to}\n{subject + chr(10) if subject else ''}{body}\n")


class ChannelError(RuntimeError):
    """A send that did not happen. ``transient`` failures are retried with backoff."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class TemplateMessage:
    """A provider-approved template and its parameters, in the order the template numbers them
    (WhatsApp's body ``{{1}}``, ``{{2}}``...; a DLT template's variables)."""

    name: str
    language: str = "en"
    parameters: list[str] = field(default_factory=list)


@dataclass
class OutgoingMessage:
    channel: str
    to: str
    body: str
    subject: str = ""
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    reference: str = ""  # our log id, echoed back by providers that support it
    template: TemplateMessage | None = None  # for channels that need an approved template


def get_backend(channel: str):
    from flask import current_app

    cfg = current_app.config
    if channel == "email":
        # lazy: only the configured backend (and its client library) is loaded
        from nibog.notifications.channels import email

        return email.backend(cfg.get("MAIL_BACKEND", "console"))
    if channel == "sms":
        # lazy: only the configured backend (and its client library) is loaded
        from nibog.notifications.channels import sms

        return sms.backend(cfg.get("SMS_BACKEND", "console"))
    if channel == "whatsapp":
        # lazy: only the configured backend (and its client library) is loaded
        from nibog.notifications.channels import whatsapp

        return whatsapp.backend(cfg.get("WHATSAPP_BACKEND", "console"))
    raise ValueError(f"unknown channel {channel!r}")

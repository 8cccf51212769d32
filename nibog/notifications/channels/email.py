"""Email: ``MAIL_BACKEND=console`` (default) or ``smtp`` (``MAIL_SERVER``, ``MAIL_PORT``,
``MAIL_USE_TLS``, ``MAIL_USE_SSL``, ``MAIL_USERNAME``, ``MAIL_PASSWORD``, ``MAIL_DEFAULT_SENDER``,
``MAIL_TIMEOUT``)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

from nibog.notifications.channels import (
    CONSOLE_OUTBOX,
    ChannelError,
    OutgoingMessage,
    keep_console_copy,
    masked,
)

log = logging.getLogger(__name__)


def build_email(msg: OutgoingMessage) -> EmailMessage:
    cfg = current_app.config
    email = EmailMessage()
    sender = cfg.get("MAIL_DEFAULT_SENDER", "no-reply@nibog.in")
    email["From"] = sender
    email["To"] = msg.to
    email["Subject"] = msg.subject
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "nibog.in"
    email["Message-ID"] = make_msgid(domain=domain)
    if msg.reference:
        email["X-Nibog-Notification"] = msg.reference
    email.set_content(msg.body)
    if msg.html:
        email.add_alternative(msg.html, subtype="html")
    for att in msg.attachments:
        maintype, _, subtype = att.content_type.partition("/")
        email.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
    return email


class ConsoleEmail:
    name = "console"

    def send(self, msg: OutgoingMessage) -> str:
        email = build_email(msg)
        CONSOLE_OUTBOX.append(email)
        keep_console_copy("email", msg.to, msg.subject, msg.body)
        log.info("email (console) to=%s subject=%s", masked(msg.to), msg.subject)
        return email["Message-ID"]


class SmtpEmail:
    name = "smtp"

    def send(self, msg: OutgoingMessage) -> str:
        cfg = current_app.config
        email = build_email(msg)
        timeout = float(cfg.get("MAIL_TIMEOUT", 15))
        smtp_cls = smtplib.SMTP_SSL if cfg.get("MAIL_USE_SSL") else smtplib.SMTP
        try:
            with smtp_cls(cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), timeout=timeout) as smtp:
                if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
                    smtp.starttls()
                if cfg.get("MAIL_USERNAME"):
                    smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD", ""))
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise ChannelError(
                f"recipient refused: {exc.recipients}", transient=all(400 <= c < 500 for c in codes)
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # 4xx: try again later; 5xx: the server will not take this message.
            raise ChannelError(
                f"smtp {exc.smtp_code}: {exc.smtp_error!r}", transient=exc.smtp_code < 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"smtp unavailable: {exc}", transient=True) from exc
        return email["Message-ID"]


def backend(name: str):
    if name == "smtp":
        return SmtpEmail()
    if name == "console":
        return ConsoleEmail()
    raise ValueError(f"unknown MAIL_BACKEND {name!r}")

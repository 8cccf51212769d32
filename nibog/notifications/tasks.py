"""Notification jobs. Safe to run twice: a log entry already sent is not sent again."""

from __future__ import annotations

import logging
from typing import Any

from nibog.core import tx
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog

log = logging.getLogger(__name__)


def deliver(log_id: int, context: dict[str, Any]) -> None:
    entry = db.session.get(NotificationLog, log_id, with_for_update=True)
    if entry is None or entry.status != "queued":
        tx.rollback()
        return
    entry.attempts += 1
    # Console backend: the message is logged, nothing leaves the machine.
    log.info(
        "message",
        extra={"channel": entry.channel, "template": entry.template, "to": entry.recipient,
               "context": context},
    )
    entry.status = "sent"
    entry.sent_at = utcnow()
    tx.commit()

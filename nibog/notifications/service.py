"""Queue messages to parents and staff. Delivery happens in a job, after the commit.

Callers say *what* to send (template name + context of plain JSON values); the job renders the
template and sends it through the configured channel backend, recording the outcome in the
``notifications`` log.
"""

from __future__ import annotations

from typing import Any

from nibog.core.jobs import enqueue
from nibog.extensions import db
from nibog.notifications.models import NotificationLog


def queue_email(
    template: str,
    to: str,
    context: dict[str, Any] | None = None,
    *,
    user_id: int | None = None,
    booking_id: int | None = None,
) -> NotificationLog:
    return _queue("email", template, to, context, user_id=user_id, booking_id=booking_id)


def queue_sms(
    template: str,
    to: str,
    context: dict[str, Any] | None = None,
    *,
    user_id: int | None = None,
    booking_id: int | None = None,
) -> NotificationLog:
    return _queue("sms", template, to, context, user_id=user_id, booking_id=booking_id)


def _queue(channel, template, recipient, context, *, user_id, booking_id) -> NotificationLog:
    entry = NotificationLog(
        channel=channel,
        template=template,
        recipient=recipient,
        user_id=user_id,
        booking_id=booking_id,
        status="queued",
    )
    db.session.add(entry)
    db.session.flush()
    enqueue("nibog.notifications.tasks.deliver", entry.id, context or {}, queue="notifications")
    return entry

"""The notification log as the dashboard shows it, and sending a message again."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from nibog.core.audit import record
from nibog.core.errors import AppError, NotFound
from nibog.core.models import OutboxJob
from nibog.core.timeutil import IST
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import queue_email, queue_sms, queue_whatsapp
from nibog.notifications.tasks import DELIVER, ONE_TIME_SECRETS

MESSAGE_SORTS = {
    "created": NotificationLog.created_at,
    "status": NotificationLog.status,
    "template": NotificationLog.template,
    "recipient": NotificationLog.recipient,
}
CHANNELS = ("email", "sms", "whatsapp")
STATUSES = ("queued", "sent", "failed", "delivered", "bounced", "suppressed")


def message_rows(filters: dict):
    """``filters``: channel, status, template, q (part of the recipient), booking_id, user_id,
    date_from/date_to (the day it was queued, in India)."""
    stmt = select(NotificationLog)
    for name in ("channel", "status", "template", "booking_id", "user_id"):
        if filters.get(name):
            stmt = stmt.where(getattr(NotificationLog, name) == filters[name])
    if filters.get("q"):
        stmt = stmt.where(
            NotificationLog.recipient.contains(filters["q"].strip().lower(), autoescape=True)
        )
    if filters.get("date_from"):
        stmt = stmt.where(
            NotificationLog.created_at >= datetime.combine(filters["date_from"], time(), IST)
        )
    if filters.get("date_to"):
        stmt = stmt.where(
            NotificationLog.created_at
            < datetime.combine(filters["date_to"] + timedelta(days=1), time(), IST)
        )
    return stmt


def templates_in_use() -> list[str]:
    return list(db.session.scalars(
        select(NotificationLog.template).group_by(NotificationLog.template)
        .order_by(NotificationLog.template)
    ))


def _kept_context(log_id: int) -> dict | None:
    args = db.session.scalar(
        select(OutboxJob.args)
        .where(OutboxJob.func == DELIVER, OutboxJob.args[0].as_integer() == log_id)
        .order_by(OutboxJob.id.desc())
        .limit(1)
    )
    return args[1] if args and len(args) >= 2 and isinstance(args[1], dict) else None


def resend(log_id: int, *, actor_id: int, client_ip: str | None = None) -> NotificationLog:
    """Send a logged message again, as a new log entry (the old one keeps its outcome).

    Its content comes from the delivery job kept in the outbox, or - once that is pruned -
    from the booking it is about (booking messages are rebuilt from the booking as it is
    now). A message that carried a one-time secret (a sign-in code, a reset link) is never
    resent: the secret is gone, and a fresh one must be asked for. A failed message is the
    failed-jobs page's requeue, reusing its entry.
    """
    entry = db.session.get(NotificationLog, log_id)
    if entry is None:
        raise NotFound("Message")
    if entry.status == "queued":
        raise AppError("message_queued", "This message is still waiting to be sent", 409)
    context = _kept_context(log_id)
    if context is not None and ONE_TIME_SECRETS & set(context):
        raise AppError(
            "message_has_secret",
            "This message carried a one-time code or link; ask for a new one instead", 409,
        )
    if context is None:
        if entry.booking_id is None:
            raise AppError("message_content_gone",
                           "This message's content is no longer kept; it cannot be resent", 409)
        context = {"booking_id": entry.booking_id}
    send = {"email": queue_email, "sms": queue_sms, "whatsapp": queue_whatsapp}[entry.channel]
    new = send(entry.template, entry.recipient, context, user_id=entry.user_id,
               booking_id=entry.booking_id)
    record("notification.resend", new, actor_id=actor_id, client_ip=client_ip,
           after={"resent_from": entry.id, "status": new.status, "template": new.template,
                  "recipient": new.recipient})
    return new


def failed_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(NotificationLog).where(NotificationLog.status == "failed")
    ) or 0

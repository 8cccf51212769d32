"""Notification jobs. Safe to run twice: a log entry already sent is not sent again."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import exists, select, update

from nibog.booking.models import Booking
from nibog.catalog.models import Event
from nibog.core import boundary
from nibog.core.jobs import job
from nibog.core.models import OutboxJob
from nibog.core.timeutil import today_ist, utcnow
from nibog.documents.booking_view import load_booking_view
from nibog.documents.storage import StorageError
from nibog.extensions import db
from nibog.notifications import templates
from nibog.notifications.channels import ChannelError, OutgoingMessage, get_backend
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import (
    queue_email,
    queue_sms,
    queue_whatsapp_update,
    suppression_reason,
)

log = logging.getLogger(__name__)

# Without RQ (embedded mode) nothing retries for us: the outbox relay does, this many times.
EMBEDDED_MAX_ATTEMPTS = 4


class DeliveryFailed(RuntimeError):
    """Raised after a transient failure is recorded, so RQ retries the job with backoff."""


def _retries_left(entry: NotificationLog) -> int:
    from rq import get_current_job

    job = get_current_job()
    if job is None:
        return max(0, EMBEDDED_MAX_ATTEMPTS - entry.attempts)
    if job.worker_name == "sync":
        return 0  # a synchronous queue (JOBS_SYNC) never retries: fail now, visibly
    return int(job.retries_left or 0)


def _transient(exc: Exception) -> bool:
    from sqlalchemy.exc import OperationalError


    return isinstance(exc, StorageError | OperationalError | ConnectionError | TimeoutError)


def _compose(entry: NotificationLog, context: dict[str, Any]) -> OutgoingMessage:
    language = templates.message_language(entry.template, context, entry.user_id)
    ctx = templates.build_context(context, booking_id=entry.booking_id, user_id=entry.user_id,
                                  language=language)
    booking = ctx.get("booking")
    if entry.template == "booking_confirmed" and booking and booking["status"] not in (
        "confirmed", "completed"
    ):
        raise RuntimeError(f"the booking is {booking['status']}, no longer confirmed: no ticket")
    if entry.channel == "email":
        subject, text, html = templates.render_email(entry.template, ctx)
        return OutgoingMessage(
            channel="email",
            to=entry.recipient,
            subject=subject,
            body=text,
            html=html,
            attachments=templates.attachments_for(entry.template, ctx),
            reference=str(entry.id),
        )
    return OutgoingMessage(
        channel=entry.channel,
        to=entry.recipient,
        body=templates.render_short_text(entry.template, ctx),
        reference=str(entry.id),
        template=(
            templates.whatsapp_template(entry.template, ctx)
            if entry.channel == "whatsapp" else templates.sms_template(entry.template, ctx)
        ),
    )


def on_notification_queued(log_id: int, context: dict[str, Any]) -> None:
    """Receiver of ``signals.notification_queued``: the message goes out in a job, after the
    commit."""
    deliver.delay(log_id, context)


@job("notifications")
def deliver(log_id: int, context: dict[str, Any]) -> None:
    # A failure is recorded (committed) first, then raised for RQ's retry.
    with boundary.unit_of_work():
        failure = _deliver(log_id, context)
    if failure is not None:
        raise failure


def _deliver(log_id: int, context: dict[str, Any]) -> DeliveryFailed | None:
    # The row stays locked while we send: a second run of this job (relay after a crash, a
    # duplicate push) waits here and then finds the message already sent.
    entry = db.session.get(NotificationLog, log_id, with_for_update=True)
    if entry is None or entry.status != "queued":
        return None
    reason = suppression_reason(entry.channel, entry.template, entry.recipient, entry.user_id)
    if reason:
        entry.status, entry.error = "suppressed", reason
        return None
    entry.attempts += 1
    try:
        message = _compose(entry, context)
    except Exception as exc:  # noqa: BLE001 - e.g. the booking was cancelled before we sent
        db.session.rollback()
        entry = db.session.get(NotificationLog, log_id, with_for_update=True)
        if entry is None or entry.status != "queued":
            return None
        entry.attempts += 1
        entry.error = f"could not compose: {exc}"[:2000]
        # The file store or the database failing for a moment (a ticket PDF to attach, say)
        # is worth the job's retries; anything else (a cancelled booking) is final.
        retry = _transient(exc) and _retries_left(entry) > 0
        if not retry:
            entry.status = "failed"
        log.warning("notification %s could not be composed (retry=%s): %s", log_id, retry, exc)
        return _failure(exc) if retry else None
    try:
        provider_id = get_backend(entry.channel).send(message)
    except ChannelError as exc:
        entry.error = str(exc)[:2000]
        retry = exc.transient and _retries_left(entry) > 0
        if not retry:
            entry.status = "failed"
        log.warning("notification %s failed (retry=%s): %s", log_id, retry, exc)
        # Retried by RQ while retries are left; the last one lands in the failed registry.
        return _failure(exc) if exc.transient else None
    entry.status = "sent"
    entry.error = None
    entry.sent_at = utcnow()
    entry.provider_message_id = provider_id or None
    _forget_secrets(log_id, context)
    return None


def _failure(exc: Exception) -> DeliveryFailed:
    failure = DeliveryFailed(str(exc))
    failure.__cause__ = exc
    return failure


# Context keys that carry a one-time secret (a reset link, an OTP): kept only until it is sent.
# pay_url: only a walk-in's payment link puts it in the context, with the access code in it.
ONE_TIME_SECRETS = frozenset({"otp", "reset_url", "verify_url", "token", "access_code", "password",
                              "pay_url"})
DELIVER = "nibog.notifications.tasks.deliver"


def _forget_secrets(log_id: int, context: dict[str, Any]) -> None:
    """The message went out: its outbox row (kept for a week) no longer needs the secret it
    carried. A failed message keeps it, for an admin's resend."""
    if not ONE_TIME_SECRETS & set(context or {}):
        return
    from rq import get_current_job

    kept = {k: "[sent]" if k in ONE_TIME_SECRETS else v for k, v in context.items()}
    job = get_current_job()
    if job is not None and job.id.startswith("outbox-"):
        # The job's id names its outbox row: one primary-key update, no scan of a week of jobs.
        row = OutboxJob.id == int(job.id.removeprefix("outbox-"))
    else:  # run in-process (the embedded default): a small table, found by its arguments
        row = (OutboxJob.func == DELIVER) & (OutboxJob.args[0].as_integer() == log_id)
    db.session.execute(update(OutboxJob).where(row).values(args=[log_id, kept]))


def send_event_reminders() -> int:
    """The day before an event, remind each confirmed booking once (email, and SMS if known)."""
    tomorrow = today_ist() + timedelta(days=1)
    already = exists().where(
        NotificationLog.booking_id == Booking.id, NotificationLog.template == "event_reminder"
    )
    ids = db.session.scalars(
        select(Booking.id)
        .join(Event, Event.id == Booking.event_id)
        .where(
            Event.event_date == tomorrow,
            Event.status == "published",
            Booking.status == "confirmed",
            ~already,
        )
        .order_by(Booking.id)
    ).all()
    boundary.rollback()  # end the read; each reminder is its own unit of work
    sent = 0
    for booking_id in ids:
        with boundary.unit_of_work():
            sent += _remind(booking_id)
    return sent


def _remind(booking_id: int) -> int:
    # Lock the booking so two overlapping runs cannot both remind it.
    booking = db.session.get(Booking, booking_id, with_for_update=True)
    done = db.session.scalar(
        select(NotificationLog.id).where(
            NotificationLog.booking_id == booking_id,
            NotificationLog.template == "event_reminder",
        ).limit(1)
    )
    if booking is None or booking.status != "confirmed" or done:
        return 0
    view = load_booking_view(booking_id)
    context = {"booking_id": booking_id}
    if view["email"]:
        queue_email("event_reminder", view["email"], context, user_id=view["user_id"],
                    booking_id=booking_id)
    if view["phone"] and current_app.config.get("SMS_REMINDERS", True):
        queue_sms("event_reminder", view["phone"], context, user_id=view["user_id"],
                  booking_id=booking_id)
    queue_whatsapp_update("event_reminder", view["phone"], context, user_id=view["user_id"],
                          booking_id=booking_id)
    return 1

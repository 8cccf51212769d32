"""Queue messages to parents and staff. Delivery happens in a job, after the commit.

Callers say *what* to send (template name + context of plain JSON values); the job renders the
template and sends it through the configured channel backend, recording the outcome in the
``notifications`` log. A message that must not go (bounced address, marketing to a parent who
opted out) is still logged, as ``suppressed``, and no job is queued.

This module sits below the features that send messages (it imports only models and the core):
it announces ``signals.notification_queued`` and the delivery job (``tasks.deliver``, which
renders tickets and certificates, so sits above the booking features) is queued by its receiver.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import has_request_context
from sqlalchemy import Integer, String, bindparam, case, cast, delete, func, insert, literal, select

from nibog.accounts.models import User
from nibog.core import rows, signals
from nibog.core.i18n import current_language
from nibog.extensions import db
from nibog.notifications.models import EmailSuppression, NotificationLog, WhatsAppOptOut

# Promotional messages honour User.marketing_opt_in; everything else is transactional and goes.
MARKETING_TEMPLATES = frozenset({"event_announcement"})


def is_marketing(template: str) -> bool:
    return template in MARKETING_TEMPLATES


def queue(
    channel: str,
    template: str,
    to: str,
    context: dict[str, Any] | None = None,
    *,
    user_id: int | None = None,
    booking_id: int | None = None,
) -> NotificationLog:
    """Log one message for `channel` and hand its delivery to the job outbox."""
    return _queue(channel, template, to, context, user_id=user_id, booking_id=booking_id)


# One entry point per channel, so call sites read as what they send.
queue_email = partial(queue, "email")
queue_sms = partial(queue, "sms")
queue_whatsapp = partial(queue, "whatsapp")


def queue_whatsapp_update(
    template: str, phone: str | None, context: dict[str, Any], *, user_id: int | None,
    booking_id: int | None,
) -> NotificationLog | None:
    """The WhatsApp copy of a booking update (confirmation, reminder, certificates), when
    ``WHATSAPP_NOTIFY`` is on and there is a number to send to."""
    from flask import current_app

    if not phone or not current_app.config.get("WHATSAPP_NOTIFY"):
        return None
    return queue_whatsapp(template, phone, context, user_id=user_id, booking_id=booking_id)


def suppression_reason(channel: str, template: str, recipient: str, user_id: int | None) -> str | None:
    """Why this message must not be sent, or None. Checked when queued and again when sent."""
    if channel == "email" and is_suppressed(recipient):
        return "address bounced"
    if channel == "whatsapp" and whatsapp_opted_out(recipient):
        return "opted out of WhatsApp"
    if is_marketing(template) and user_id is not None:
        user = db.session.get(User, user_id)
        if user is not None and not user.marketing_opt_in:
            return "opted out of marketing messages"
    return None


def _queue(channel, template, recipient, context, *, user_id, booking_id) -> NotificationLog:
    recipient = (recipient or "").strip()
    if user_id is None and has_request_context() and "language" not in (context or {}):
        # No account to keep a language on (a guest): the one they are reading now.
        context = {**(context or {}), "language": current_language()}
    if channel == "email":
        recipient = recipient.lower()
    values = {
        "channel": channel,
        "template": template,
        "recipient": recipient,
        "user_id": user_id,
        "booking_id": booking_id,
        "status": "queued",
        "error": None,
    }
    if recipient and channel == "email" and not is_marketing(template):
        # The bounce list is this message's only rule: the INSERT checks it (one round trip).
        row = db.session.execute(_INSERT_EMAIL_UNLESS_BOUNCED, values).one()
        entry = rows.adopt(NotificationLog, row)
    else:
        reason = suppression_reason(channel, template, recipient, user_id) if recipient else None
        if not recipient:
            values.update(status="failed", error="no recipient address")
        elif reason:
            values.update(status="suppressed", error=reason)
        # Inserted now (the job needs its id), with a prebuilt statement: every booking queues one.
        [entry] = rows.insert_rows(NotificationLog, [values])
    if entry.status == "queued":
        signals.announce_notification_queued(entry.id, context or {})
    return entry


# --- bounced addresses --------------------------------------------------------------------------


def _normalise(email: str) -> str:
    return (email or "").strip().lower()


def is_suppressed(email: str) -> bool:
    return db.session.scalar(_IS_SUPPRESSED, {"email": _normalise(email)}) > 0


_IS_SUPPRESSED = (
    select(func.count())
    .select_from(EmailSuppression)
    .where(EmailSuppression.email == bindparam("email"))
)

# queue_email of a non-marketing message in one round trip: suppression_reason's bounce rule
# (the address, already normalised, is on the list) decides the row's status in the INSERT.
_BOUNCED = select(EmailSuppression.id).where(EmailSuppression.email == bindparam("recipient")).exists()
_INSERT_EMAIL_UNLESS_BOUNCED = (
    insert(NotificationLog.__table__)
    .from_select(
        ["channel", "template", "recipient", "user_id", "booking_id", "status", "error"],
        select(
            literal("email"),
            # Typed, so PostgreSQL can prepare it: an untyped value in a SELECT list is text
            # (the address is compared with a VARCHAR column too).
            cast(bindparam("template"), String),
            cast(bindparam("recipient"), String),
            cast(bindparam("user_id"), Integer),
            cast(bindparam("booking_id"), Integer),
            case((_BOUNCED, "suppressed"), else_="queued"),
            case((_BOUNCED, "address bounced"), else_=None),
        ),
    )
    .returning(*NotificationLog.__table__.c)
    .execution_options(prepare=True)  # every booking queues one (core/prepared.py)
)


def suppress_email(email: str, reason: str = "bounce") -> None:
    """Stop all email to this address (flushes). Repeated bounces keep one row."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    email = _normalise(email)
    if not email:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            pg_insert(EmailSuppression)
            .values(email=email, reason=reason[:200])
            .on_conflict_do_nothing(index_elements=["email"])
        )
    elif not is_suppressed(email):
        db.session.add(EmailSuppression(email=email, reason=reason[:200]))
        db.session.flush()


def clear_suppression(email: str) -> bool:
    """Email may go to this address again: call it when a user sets or changes their email
    (the new mailbox, or the old one fixed, deserves a fresh start). Flushes; returns whether a
    suppression was removed."""
    result = db.session.execute(
        delete(EmailSuppression).where(EmailSuppression.email == _normalise(email))
    )
    return bool(result.rowcount)


# --- WhatsApp opt-out ---------------------------------------------------------------------------


def whatsapp_number(phone: str) -> str:
    """One form for a number however it was written (WhatsApp sends digits, we store +91...)."""
    return "".join(ch for ch in phone or "" if ch.isdigit())


def whatsapp_opted_out(phone: str) -> bool:
    number = whatsapp_number(phone)
    return bool(number) and db.session.scalar(
        select(func.count()).select_from(WhatsAppOptOut).where(WhatsAppOptOut.phone == number)
    ) > 0


def opt_out_whatsapp(phone: str, reason: str = "stop") -> bool:
    """Stop WhatsApp messages to this number (flushes). True if it was not opted out before."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    number = whatsapp_number(phone)
    if not number:
        return False
    if db.session.get_bind().dialect.name == "postgresql":
        added = db.session.execute(
            pg_insert(WhatsAppOptOut).values(phone=number, reason=reason[:200])
            .on_conflict_do_nothing(index_elements=["phone"]).returning(WhatsAppOptOut.id)
        ).scalar()
        return added is not None
    if whatsapp_opted_out(number):
        return False
    db.session.add(WhatsAppOptOut(phone=number, reason=reason[:200]))
    db.session.flush()
    return True


def opt_in_whatsapp(phone: str) -> bool:
    """The parent wrote START: messages resume (flushes). True if an opt-out was removed."""
    number = whatsapp_number(phone)
    return bool(number) and db.session.execute(
        delete(WhatsAppOptOut).where(WhatsAppOptOut.phone == number)
    ).rowcount > 0

"""Data retention: rows kept only as long as they serve someone (daily periodic jobs).

- expired idempotency keys and (embedded mode) OTP codes: ``nibog.core.housekeeping.purge_expired``
  (hourly); in Redis, OTPs carry their own TTL;
- relayed outbox rows after 7 days: ``nibog.core.outbox.purge_relayed_outbox``;
- message logs after ``NOTIFICATION_LOG_DAYS`` (the delivery history support looks at):
  ``purge_old_notifications``;
- guest placeholders nobody came back for: ``purge_abandoned_guests``.

Each job only flushes: the job (or command) boundary commits. They run daily, so each deletes
one day's worth of rows; the first run on an old database deletes more in one statement.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, exists, func, select, update

from nibog.accounts.models import Child, User
from nibog.accounts.service import ANONYMISED_NAME
from nibog.booking.models import LIVE_BOOKING_STATUSES, Booking, BookingItem
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog

log = logging.getLogger(__name__)

BATCH = 5000  # placeholders handled per run


def purge_old_notifications(days: int | None = None) -> int:
    """Delete message logs older than NOTIFICATION_LOG_DAYS. Returns how many went."""
    days = days if days is not None else int(current_app.config["NOTIFICATION_LOG_DAYS"])
    cutoff = utcnow() - timedelta(days=days)
    result = db.session.execute(delete(NotificationLog).where(NotificationLog.created_at < cutoff))
    total = result.rowcount or 0
    log.info("purged %s notification logs older than %s days", total, days)
    return total


def abandoned_guest_ids(days: int) -> list[int]:
    """Placeholder accounts (``booking.guests``) with no live booking and no activity for ``days``.

    A placeholder: no e-mail, phone, password or Google id, never active, not deleted yet. It is
    abandoned when none of its children holds a pending, confirmed or completed booking and the
    newest booking of theirs (or the placeholder itself, when it has none) is older than the cutoff.
    """
    cutoff = utcnow() - timedelta(days=days)
    child_bookings = (
        select(Booking.id)
        .join(BookingItem, BookingItem.booking_id == Booking.id)
        .join(Child, Child.id == BookingItem.child_id)
        .where(Child.user_id == User.id)
    )
    return list(db.session.scalars(
        select(User.id)
        .where(
            User.email.is_(None), User.phone.is_(None), User.password_hash.is_(None),
            User.google_sub.is_(None), User.is_active_account.is_(False),
            User.deleted_at.is_(None), User.role == "parent", User.created_at < cutoff,
            ~exists(child_bookings.where(Booking.status.in_(LIVE_BOOKING_STATUSES))),
            ~exists(child_bookings.where(Booking.created_at >= cutoff)),
        )
        .order_by(User.id)
        .limit(BATCH)
    ))


def purge_abandoned_guests(days: int | None = None) -> int:
    """Forget guests who never paid (or whose bookings were cancelled) after GUEST_PLACEHOLDER_DAYS.

    The expired or cancelled bookings stay (they are the accounting record) without the guest's
    name, phone or address; children no booking refers to are deleted, the others are
    anonymised; a placeholder left without children is deleted, else anonymised.
    """
    days = days if days is not None else int(current_app.config["GUEST_PLACEHOLDER_DAYS"])
    ids = abandoned_guest_ids(days)
    if not ids:
        return 0
    now = utcnow()
    child_ids = list(db.session.scalars(select(Child.id).where(Child.user_id.in_(ids))))
    booking_ids = list(db.session.scalars(
        select(BookingItem.booking_id).where(BookingItem.child_id.in_(child_ids)).distinct()
    )) if child_ids else []
    for booking_id in booking_ids:
        # has_owner needs a guest e-mail on a booking without a user: one nobody can guess or
        # reach (.invalid is reserved), so the booking number alone opens nothing.
        db.session.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.user_id.is_(None))
            .values(guest_name=None, guest_phone=None,
                    guest_email=f"deleted-{secrets.token_hex(8)}@invalid", access_code_hash=None)
        )
    referenced = select(BookingItem.id).where(BookingItem.child_id == Child.id)
    db.session.execute(delete(Child).where(Child.id.in_(child_ids), ~exists(referenced)))
    db.session.execute(
        update(Child)
        .where(Child.user_id.in_(ids))
        .values(full_name="Deleted child", school_name=None, gender=None,
                deleted_at=func.coalesce(Child.deleted_at, now))
    )
    childless = ~exists(select(Child.id).where(Child.user_id == User.id))
    deleted = db.session.execute(delete(User).where(User.id.in_(ids), childless)).rowcount or 0
    db.session.execute(
        update(User).where(User.id.in_(ids)).values(full_name=ANONYMISED_NAME, deleted_at=now)
    )
    db.session.flush()
    log.info("forgot %s abandoned guest placeholders (%s deleted)", len(ids), deleted)
    return len(ids)

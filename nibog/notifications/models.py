"""Every message we send, and addresses that must not get email any more."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from nibog.core.db_types import TimestampMixin, UTCDateTime, check_in
from nibog.extensions import db


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"


class NotificationStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    SUPPRESSED = "suppressed"


class NotificationLog(TimestampMixin, db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        check_in("channel", Channel),
        check_in("status", NotificationStatus),
        # The dashboard's notification log, newest first.
        Index("ix_notifications_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    template: Mapped[str] = mapped_column(String(60), nullable=False)
    recipient: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="queued")
    provider_message_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WhatsAppOptOut(db.Model):
    """A number that wrote STOP to our WhatsApp number: no WhatsApp message until START."""

    __tablename__ = "whatsapp_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    reason: Mapped[str] = mapped_column(String(200), nullable=False, server_default="stop")
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=db.func.current_timestamp()
    )


class EmailSuppression(db.Model):
    """A bounced address gets no more email until the owner changes it."""

    __tablename__ = "email_suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    reason: Mapped[str] = mapped_column(String(200), nullable=False, server_default="bounce")
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=db.func.current_timestamp()
    )

"""Payments, refunds, their status history, and received webhook events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from nibog.core.db_types import JSONType, Paise, TimestampMixin, UTCDateTime, check_in
from nibog.extensions import db


class PaymentStatus(StrEnum):
    CREATED = "created"
    CAPTURED = "captured"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class RefundStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class FlagKind(StrEnum):
    AMOUNT_MISMATCH = "amount_mismatch"
    LATE_PAYMENT = "late_payment"
    DUPLICATE_CAPTURE = "duplicate_capture"
    REFUND_FAILED = "refund_failed"
    OTHER = "other"


PAYMENT_STATUSES = tuple(PaymentStatus)


class Payment(TimestampMixin, db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        check_in("status", PaymentStatus),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "amount_refunded >= 0 AND amount_refunded <= amount", name="refund_within_amount"
        ),
        UniqueConstraint("provider", "provider_order_id"),
        UniqueConstraint("provider", "provider_payment_id"),
        # At most one open order per booking: create is idempotent while it is open.
        Index(
            "uq_payments_open_per_booking",
            "booking_id",
            unique=True,
            postgresql_where=text("status = 'created'"),
            sqlite_where=text("status = 'created'"),
        ),
        Index("ix_payments_status_created", "status", "created_at"),
        # The dashboard's payments list (newest first) and its revenue per day.
        Index("ix_payments_created_at", "created_at"),
        Index("ix_payments_captured_at", "captured_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str] = mapped_column(String(20), nullable=False)
    provider_order_id: Mapped[str] = mapped_column(String(100), nullable=False)
    provider_payment_id: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(Paise, nullable=False)
    amount_refunded: Mapped[int] = mapped_column(Paise, nullable=False, server_default=text("0"))
    currency: Mapped[str] = mapped_column(String(3), nullable=False, server_default="INR")
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="created")
    method: Mapped[str | None] = mapped_column(String(30))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    raw: Mapped[dict | None] = mapped_column(JSONType)


class Refund(TimestampMixin, db.Model):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        check_in("status", RefundStatus),
        UniqueConstraint("provider_refund_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    amount: Mapped[int] = mapped_column(Paise, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="pending")
    provider_refund_id: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaymentStatusChange(db.Model):
    """Every transition of a payment or refund, for support and accounting."""

    __tablename__ = "payment_status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), nullable=False, index=True
    )
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=db.func.current_timestamp()
    )


class WebhookEvent(db.Model):
    """A received webhook, unique per provider event id: replays find their row and stop."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(30), nullable=False)
    event_id: Mapped[str] = mapped_column(String(200), nullable=False)
    event_type: Mapped[str] = mapped_column(String(60), nullable=False, server_default="")
    payload: Mapped[dict | None] = mapped_column(JSONType)
    processed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    result: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    received_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=db.func.current_timestamp()
    )


FLAG_KINDS = tuple(FlagKind)


class PaymentFlag(TimestampMixin, db.Model):
    """Money that does not add up, for support to look at and resolve (the dashboard's
    reconciliation list). Raised by ``payments.history.flag``; resolved by a person."""

    __tablename__ = "payment_flags"
    __table_args__ = (
        check_in("kind", FlagKind),
        # The reconciliation list reads the open flags, newest first.
        Index("ix_payment_flags_open", "created_at", postgresql_where=text("resolved_at IS NULL"),
              sqlite_where=text("resolved_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(Text)

"""Bookings, their items and add-ons, promo codes, the waiting list and idempotency keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nibog.core.db_types import (
    JSONType,
    Paise,
    TimestampMixin,
    UTCDateTime,
    check_in,
    trigram_index,
)
from nibog.extensions import db


class BookingStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    COMPLETED = "completed"


class Attendance(StrEnum):
    UNKNOWN = "unknown"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class PromoKind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class IdempotencyState(StrEnum):
    IN_PROGRESS = "in_progress"
    DONE = "done"


BOOKING_STATUSES = tuple(BookingStatus)
LIVE_BOOKING_STATUSES = (
    BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED, BookingStatus.COMPLETED)
# Holding a confirmed seat (paid, free, or cash), and still open to a cancellation or a move.
CONFIRMED_BOOKING_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)
OPEN_BOOKING_STATUSES = (BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED)
BOOKING_SOURCES = ("app", "web", "admin", "guest", "partner", "waitlist")


class Booking(TimestampMixin, db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        check_in("status", BookingStatus),
        CheckConstraint(
            "subtotal >= 0 AND discount >= 0 AND discount <= subtotal AND total = subtotal - discount",
            name="amounts_consistent",
        ),
        CheckConstraint("user_id IS NOT NULL OR guest_email IS NOT NULL", name="has_owner"),
        # The expiry job scans live holds by deadline.
        Index("ix_bookings_status_hold", "status", "hold_expires_at"),
        Index("ix_bookings_user_created", "user_id", "created_at"),
        Index("ix_bookings_event_status", "event_id", "status"),
        # The dashboard's bookings list, newest first, and its figures per day.
        Index("ix_bookings_created_at", "created_at"),
        # Cash taken at the desk, a small share of bookings, is summed into every revenue
        # figure: read from this partial index instead of every booking.
        Index("ix_bookings_cash", "status", postgresql_where=text("payment_mode = 'cash'"),
              sqlite_where=text("payment_mode = 'cash'")),
        # Walk-in and guest bookings found by part of a name, address or phone (few rows: only
        # guest bookings are in these indexes, so an app booking's insert does not pay for them).
        trigram_index("ix_bookings_guest_name_trgm", "guest_name", "guest_email IS NOT NULL"),
        trigram_index("ix_bookings_guest_email_trgm", "guest_email", "guest_email IS NOT NULL"),
        trigram_index("ix_bookings_guest_phone_trgm", "guest_phone", "guest_email IS NOT NULL"),
        UniqueConstraint("partner_id", "external_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_number: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="RESTRICT"), nullable=False
    )
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    source: Mapped[str] = mapped_column(String(12), nullable=False, server_default="app")
    guest_name: Mapped[str | None] = mapped_column(String(120))
    guest_email: Mapped[str | None] = mapped_column(String(254), index=True)
    guest_phone: Mapped[str | None] = mapped_column(String(20))
    access_code_hash: Mapped[str | None] = mapped_column(String(255))
    subtotal: Mapped[int] = mapped_column(Paise, nullable=False)
    discount: Mapped[int] = mapped_column(Paise, nullable=False, server_default=text("0"))
    total: Mapped[int] = mapped_column(Paise, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, server_default="INR")
    promo_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("promo_codes.id", ondelete="RESTRICT"), index=True
    )
    payment_mode: Mapped[str] = mapped_column(String(10), nullable=False, server_default="online")
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"))
    external_ref: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    items: Mapped[list[BookingItem]] = relationship(
        back_populates="booking", lazy="raise_on_sql", order_by="BookingItem.id"
    )
    addons: Mapped[list[BookingAddon]] = relationship(
        back_populates="booking", lazy="raise_on_sql", order_by="BookingAddon.id"
    )

    def message_context(self, **extra) -> dict:
        """What the booking's e-mails, SMS and WhatsApp messages are rendered from."""
        return {
            "booking_id": self.id,
            "booking_number": self.booking_number,
            "status": self.status,
            "total": self.total,
            "currency": self.currency,
            "event_id": self.event_id,
            **extra,
        }


class BookingItem(TimestampMixin, db.Model):
    __tablename__ = "booking_items"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_nonnegative"),
        check_in("attendance", Attendance),
        CheckConstraint("result_position IS NULL OR result_position > 0", name="position_positive"),
        # One live seat per child per slot: a second booking of the same child into the same slot
        # is refused by the database even if the service check were bypassed.
        Index(
            "uq_booking_items_live_child_slot",
            "child_id",
            "slot_id",
            unique=True,
            postgresql_where=text("is_live"),
            sqlite_where=text("is_live"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False, index=True
    )
    child_id: Mapped[int] = mapped_column(
        ForeignKey("children.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    slot_id: Mapped[int] = mapped_column(
        ForeignKey("game_slots.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    price: Mapped[int] = mapped_column(Paise, nullable=False)
    # True while the item holds a seat (booking pending, confirmed or completed).
    is_live: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    attendance: Mapped[str] = mapped_column(String(10), nullable=False, server_default="unknown")
    result_position: Mapped[int | None] = mapped_column(Integer)
    certificate_path: Mapped[str | None] = mapped_column(String(500))

    booking: Mapped[Booking] = relationship(back_populates="items", lazy="raise_on_sql")


class BookingAddon(TimestampMixin, db.Model):
    __tablename__ = "booking_addons"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0 AND total = unit_price * quantity", name="total_consistent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False, index=True
    )
    addon_id: Mapped[int] = mapped_column(
        ForeignKey("addons.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("addon_variants.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[int] = mapped_column(Paise, nullable=False)
    total: Mapped[int] = mapped_column(Paise, nullable=False)

    booking: Mapped[Booking] = relationship(back_populates="addons", lazy="raise_on_sql")


promo_code_events = Table(
    "promo_code_events",
    db.Model.metadata,
    Column("promo_code_id", ForeignKey("promo_codes.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
)

promo_code_games = Table(
    "promo_code_games",
    db.Model.metadata,
    Column("promo_code_id", ForeignKey("promo_codes.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "game_template_id", ForeignKey("game_templates.id", ondelete="CASCADE"), primary_key=True
    ),
)


class PromoCode(TimestampMixin, db.Model):
    __tablename__ = "promo_codes"
    __table_args__ = (
        CheckConstraint("code = upper(code)", name="code_uppercase"),
        check_in("kind", PromoKind),
        CheckConstraint(
            "value > 0 AND (kind <> 'percent' OR value <= 100)", name="value_in_range"
        ),
        CheckConstraint(
            "used_count >= 0 AND (max_uses IS NULL OR used_count <= max_uses)",
            name="uses_within_limit",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(String(300), nullable=False, server_default="")
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    # Percent (1-100) or paise, by kind.
    value: Mapped[int] = mapped_column(Paise, nullable=False)
    max_discount: Mapped[int | None] = mapped_column(Paise)
    min_total: Mapped[int | None] = mapped_column(Paise)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    used_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    per_user_limit: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())


WAITLIST_STATUSES = tuple(WaitlistStatus)


class WaitingListEntry(TimestampMixin, db.Model):
    __tablename__ = "waiting_list"
    __table_args__ = (
        check_in("status", WaitlistStatus),
        # A child queues once per slot while the entry is active.
        Index(
            "uq_waiting_list_active_child_slot",
            "slot_id",
            "child_id",
            unique=True,
            postgresql_where=text("status IN ('waiting', 'offered')"),
            sqlite_where=text("status IN ('waiting', 'offered')"),
        ),
        Index("ix_waiting_list_slot_status_created", "slot_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(
        ForeignKey("game_slots.id", ondelete="CASCADE"), nullable=False
    )
    child_id: Mapped[int] = mapped_column(
        ForeignKey("children.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="waiting")
    offered_booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL")
    )
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdempotencyKey(db.Model):
    """A client's retry key and the first response it got, kept in PostgreSQL."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        check_in("state", IdempotencyState),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Who may replay it: "user:5", "guest", "partner:2"; one client's key never matches another's.
    scope: Mapped[str] = mapped_column(String(60), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(120), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False, server_default="in_progress")
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=db.func.current_timestamp()
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)

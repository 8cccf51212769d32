"""Cities, venues, game templates, events with their games, slots, add-ons, gallery and FAQs."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nibog.core.db_types import Paise, TimestampMixin, UTCDateTime, check_in
from nibog.extensions import db


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


EVENT_STATUSES = tuple(EventStatus)


class City(TimestampMixin, db.Model):
    __tablename__ = "cities"
    __table_args__ = (UniqueConstraint("name", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    state: Mapped[str] = mapped_column(String(100), nullable=False, server_default="")
    slug: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())


class Venue(TimestampMixin, db.Model):
    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(primary_key=True)
    # RESTRICT: a city with venues cannot vanish under them (the API answers 409 first).
    city_id: Mapped[int] = mapped_column(
        ForeignKey("cities.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())

    city: Mapped[City] = relationship(lazy="joined")


class GameTemplate(TimestampMixin, db.Model):
    __tablename__ = "game_templates"
    __table_args__ = (
        CheckConstraint("min_age_months >= 0", name="min_age_nonnegative"),
        CheckConstraint("min_age_months <= max_age_months", name="age_range_ordered"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("default_price IS NULL OR default_price >= 0", name="price_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    category: Mapped[str | None] = mapped_column(String(60), index=True)
    min_age_months: Mapped[int] = mapped_column(Integer, nullable=False)
    max_age_months: Mapped[int] = mapped_column(Integer, nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False, server_default="60")
    default_price: Mapped[int | None] = mapped_column(Paise)
    image_url: Mapped[str | None] = mapped_column(String(500))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())


class Event(TimestampMixin, db.Model):
    __tablename__ = "events"
    __table_args__ = (
        check_in("status", EventStatus),
        CheckConstraint("start_time < end_time", name="times_ordered"),
        # The public listing filters published events by date, city and venue.
        Index("ix_events_status_date", "status", "event_date"),
        Index("ix_events_city_status_date", "city_id", "status", "event_date"),
        Index("ix_events_featured_date", "is_featured", "event_date"),
        # Full-text search for the listing's ``q`` (PostgreSQL only; SQLite falls back to LIKE).
        # The expression must stay identical to ``catalog.queries.search_vector``.
        Index(
            "ix_events_search",
            # Written as PostgreSQL prints it back, so the drift check compares equal.
            text("to_tsvector('simple'::regconfig, (title::text || ' '::text) || description)"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(220), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    city_id: Mapped[int] = mapped_column(
        ForeignKey("cities.id", ondelete="RESTRICT"), nullable=False
    )
    venue_id: Mapped[int] = mapped_column(
        ForeignKey("venues.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    # Venue-local (Asia/Kolkata) calendar date and wall times.
    event_date: Mapped[date] = mapped_column(Date, nullable=False)
    start_time: Mapped[time] = mapped_column(Time, nullable=False)
    end_time: Mapped[time] = mapped_column(Time, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, server_default="draft")
    is_featured: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    image_url: Mapped[str | None] = mapped_column(String(500))
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    certificate_template: Mapped[str] = mapped_column(
        String(40), nullable=False, server_default="classic"
    )
    # Bumped by every booking-affecting change; popularity sort and cache keys read it.
    bookings_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    city: Mapped[City] = relationship(lazy="raise_on_sql")
    venue: Mapped[Venue] = relationship(lazy="raise_on_sql")
    games: Mapped[list[EventGame]] = relationship(
        back_populates="event", lazy="raise_on_sql", order_by="EventGame.sort_order, EventGame.id"
    )


class EventGame(TimestampMixin, db.Model):
    __tablename__ = "event_games"
    __table_args__ = (
        CheckConstraint("price IS NULL OR price >= 0", name="price_nonnegative"),
        CheckConstraint(
            "min_age_months IS NULL OR max_age_months IS NULL OR min_age_months <= max_age_months",
            name="age_range_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    game_template_id: Mapped[int] = mapped_column(
        ForeignKey("game_templates.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    # NULL falls back to the template's value.
    price: Mapped[int | None] = mapped_column(Paise)
    min_age_months: Mapped[int | None] = mapped_column(Integer)
    max_age_months: Mapped[int | None] = mapped_column(Integer)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))

    event: Mapped[Event] = relationship(back_populates="games", lazy="raise_on_sql")
    template: Mapped[GameTemplate] = relationship(lazy="joined")
    slots: Mapped[list[GameSlot]] = relationship(
        back_populates="event_game", lazy="raise_on_sql", order_by="GameSlot.start_time, GameSlot.id"
    )


class GameSlot(TimestampMixin, db.Model):
    __tablename__ = "game_slots"
    __table_args__ = (
        # Overselling is impossible at the database level, whatever the code does.
        CheckConstraint("booked_count >= 0 AND booked_count <= capacity", name="seats_within_capacity"),
        CheckConstraint("capacity >= 0", name="capacity_nonnegative"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_nonnegative"),
        CheckConstraint("start_time < end_time", name="times_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_game_id: Mapped[int] = mapped_column(
        ForeignKey("event_games.id", ondelete="CASCADE"), nullable=False, index=True
    )
    start_time: Mapped[time] = mapped_column(Time, nullable=False)
    end_time: Mapped[time] = mapped_column(Time, nullable=False)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    # Seats taken by live items: confirmed bookings and unexpired holds.
    booked_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    price: Mapped[int | None] = mapped_column(Paise)
    is_open: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())

    event_game: Mapped[EventGame] = relationship(back_populates="slots", lazy="raise_on_sql")

    @property
    def seats_left(self) -> int:
        return max(0, self.capacity - self.booked_count)


class AddOn(TimestampMixin, db.Model):
    __tablename__ = "addons"
    __table_args__ = (CheckConstraint("price >= 0", name="price_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    price: Mapped[int] = mapped_column(Paise, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))

    variants: Mapped[list[AddOnVariant]] = relationship(
        back_populates="addon", lazy="raise_on_sql", order_by="AddOnVariant.id"
    )


class AddOnVariant(TimestampMixin, db.Model):
    __tablename__ = "addon_variants"
    __table_args__ = (
        CheckConstraint(
            "sold_count >= 0 AND (stock IS NULL OR sold_count <= stock)", name="stock_not_oversold"
        ),
        CheckConstraint("price IS NULL OR price >= 0", name="price_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    addon_id: Mapped[int] = mapped_column(
        ForeignKey("addons.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    # NULL price falls back to the add-on's; NULL stock is unlimited.
    price: Mapped[int | None] = mapped_column(Paise)
    stock: Mapped[int | None] = mapped_column(Integer)
    sold_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())

    addon: Mapped[AddOn] = relationship(back_populates="variants", lazy="raise_on_sql")


class EventGalleryImage(TimestampMixin, db.Model):
    __tablename__ = "event_gallery"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    image_url: Mapped[str] = mapped_column(String(500), nullable=False)
    caption: Mapped[str] = mapped_column(String(300), nullable=False, server_default="")
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))


class EventFaq(TimestampMixin, db.Model):
    __tablename__ = "event_faqs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    question: Mapped[str] = mapped_column(String(500), nullable=False)
    answer: Mapped[str] = mapped_column(Text, nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))


class Review(TimestampMixin, db.Model):
    __tablename__ = "reviews"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # One review per booking.
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rating: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    is_published: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())

"""Users, their children and favourite events."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nibog.core.db_types import TimestampMixin, UTCDateTime, check_in, trigram_index
from nibog.extensions import db


class Role(StrEnum):
    PARENT = "parent"
    STAFF = "staff"
    ADMIN = "admin"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"


ROLES = tuple(Role)
GENDERS = tuple(Gender)


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are stored lower-cased, so a plain unique constraint is case-insensitive.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        check_in("role", Role),
        # The dashboard finds people by part of a name, an address or a phone number.
        trigram_index("ix_users_full_name_trgm", "full_name"),
        trigram_index("ix_users_email_trgm", "email"),
        trigram_index("ix_users_phone_trgm", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Nullable: phone-OTP accounts may have no email; anonymised accounts lose theirs.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(120), nullable=False, server_default="")
    role: Mapped[str] = mapped_column(String(10), nullable=False, server_default="parent")
    is_active_account: Mapped[bool] = mapped_column(
        "is_active", Boolean, nullable=False, server_default=true()
    )
    email_verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    phone_verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    google_sub: Mapped[str | None] = mapped_column(String(255), unique=True)
    city_id: Mapped[int | None] = mapped_column(
        ForeignKey("cities.id", ondelete="SET NULL"), index=True
    )
    marketing_opt_in: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())
    # The language of this parent's e-mails and SMS: the site's when they signed up, then their
    # choice in the profile. Any code in config LANGUAGES.
    language: Mapped[str] = mapped_column(String(8), nullable=False, server_default="en")
    # Bumped on password change/reset/deactivation: tokens carrying an older version are dead.
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    children: Mapped[list[Child]] = relationship(back_populates="parent", lazy="raise_on_sql")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account and self.deleted_at is None

    def get_id(self) -> str:  # Flask-Login
        # The token version rides in the site's session cookie too: a password change, reset
        # or deactivation signs the parent out of every browser, as it does every app token.
        return f"{self.id}:{self.token_version}"


class Child(TimestampMixin, db.Model):
    __tablename__ = "children"
    __table_args__ = (
        check_in("gender", Gender, nullable=True),
        # Staff search bookings by a child's name.
        trigram_index("ix_children_full_name_trgm", "full_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    full_name: Mapped[str] = mapped_column(String(120), nullable=False)
    # A plain DATE: birthdays never pass through a timezone conversion.
    date_of_birth: Mapped[date] = mapped_column(Date, nullable=False)
    gender: Mapped[str | None] = mapped_column(String(10))
    school_name: Mapped[str | None] = mapped_column(String(200))
    # Soft delete keeps past bookings' items pointing at a real child.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    parent: Mapped[User] = relationship(back_populates="children", lazy="joined")


class UserFavorite(db.Model):
    __tablename__ = "user_favorites"
    __table_args__ = (UniqueConstraint("user_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=db.func.current_timestamp()
    )


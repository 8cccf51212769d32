"""Site content: general FAQs, testimonials, pages, contact messages."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Integer, String, Text, text, true
from sqlalchemy.orm import Mapped, mapped_column

from nibog.core.db_types import TimestampMixin, check_in
from nibog.extensions import db


class ContactStatus(StrEnum):
    NEW = "new"
    HANDLED = "handled"


class Faq(TimestampMixin, db.Model):
    __tablename__ = "faqs"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(String(500), nullable=False)
    answer: Mapped[str] = mapped_column(Text, nullable=False)
    category: Mapped[str] = mapped_column(String(60), nullable=False, server_default="general")
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    is_published: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())


class Testimonial(TimestampMixin, db.Model):
    __tablename__ = "testimonials"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    author_name: Mapped[str] = mapped_column(String(120), nullable=False)
    city_name: Mapped[str] = mapped_column(String(100), nullable=False, server_default="")
    content: Mapped[str] = mapped_column(Text, nullable=False)
    rating: Mapped[int | None] = mapped_column(Integer)
    image_url: Mapped[str | None] = mapped_column(String(500))
    is_featured: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())
    is_published: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))


class ContentPage(TimestampMixin, db.Model):
    __tablename__ = "content_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body_html: Mapped[str] = mapped_column(Text, nullable=False, server_default="")


class ContactMessage(TimestampMixin, db.Model):
    __tablename__ = "contact_messages"
    __table_args__ = (check_in("status", ContactStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="new")
    client_ip: Mapped[str | None] = mapped_column(String(64))

"""External partners that book through /webhooks/external/*."""

from __future__ import annotations

from sqlalchemy import Boolean, String, true
from sqlalchemy.orm import Mapped, mapped_column

from nibog.core.db_types import TimestampMixin
from nibog.extensions import db


class Partner(TimestampMixin, db.Model):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    slug: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    # HMAC key for X-Nibog-Signature; must be readable to verify, so it is not hashed.
    webhook_secret: Mapped[str] = mapped_column(String(200), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=true())

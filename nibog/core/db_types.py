"""Column types and mixins shared by every feature's models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from nibog.core.timeutil import as_utc


class UTCDateTime(TypeDecorator):
    """timestamptz that always comes back aware (SQLite otherwise returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return as_utc(value)

    def process_result_value(self, value, dialect):
        return as_utc(value)


# JSONB on PostgreSQL (indexable, compact), plain JSON elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")

# Money columns: integer paise.
Paise = BigInteger


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.current_timestamp(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.current_timestamp(), onupdate=func.now(), nullable=False
    )


def trigram_index(name: str, column: str, where: str | None = None):
    """A PostgreSQL trigram index (pg_trgm) so ``column ILIKE '%part%'`` - the dashboard's
    search boxes - reads the index instead of every row. Not created on SQLite (the embedded
    default searches by scanning, which is fine at its size)."""
    from sqlalchemy import Index, text

    kwargs = {"postgresql_using": "gin", "postgresql_ops": {column: "gin_trgm_ops"}}
    if where:
        kwargs["postgresql_where"] = text(where)
    return Index(name, column, **kwargs).ddl_if(dialect="postgresql")


def check_in(column: str, values: type[StrEnum], *, name: str | None = None,
             nullable: bool = False) -> CheckConstraint:
    """The CHECK that keeps ``column`` to the values of a status enum, generated from the enum
    so the two cannot drift: ``check_in("status", BookingStatus)`` is
    ``CHECK (status IN ('pending_payment', 'confirmed', ...))`` named ``<column>_valid``.
    ``nullable`` also lets NULL through. The enum rides along in ``info["enum"]`` so a test can
    compare each constraint in the database with its enum."""
    listed = ", ".join("'{}'".format(member.value.replace("'", "''")) for member in values)
    sql = f"{column} IN ({listed})"
    if nullable:
        sql = f"{column} IS NULL OR {sql}"
    return CheckConstraint(sql, name=name or f"{column}_valid",
                           info={"enum": values, "column": column})

"""Time rules: store UTC, show Asia/Kolkata; event dates are venue-local."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")


def utcnow() -> datetime:
    return datetime.now(UTC)


def today_ist() -> date:
    return datetime.now(IST).date()


def as_utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetime; naive values (SQLite drops offsets) are UTC by our storage rule."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_ist(value: datetime | None) -> datetime | None:
    value = as_utc(value)
    return value.astimezone(IST) if value else None


def isoformat_ist(value: datetime | None) -> str | None:
    """The contract's form, ``2026-12-05T09:30:00+05:30``: whole seconds (a fraction is more
    than some clients' ISO 8601 parsers accept), Indian time."""
    value = to_ist(value)
    return value.isoformat(timespec="seconds") if value else None


def local_to_utc(on: date, at: time) -> datetime:
    """A venue-local wall time (Asia/Kolkata) as an aware UTC datetime."""
    return datetime.combine(on, at, tzinfo=IST).astimezone(UTC)


def age_in_months(date_of_birth: date, on_date: date) -> int:
    """Whole months completed between birth and ``on_date`` (negative if not yet born).

    A month is complete on the same day-of-month as the birth, or on the month's last day when
    the month is too short (born 31 Jan → one month on 28/29 Feb; born 29 Feb → twelve months on
    28 Feb of a common year).
    """
    months = (on_date.year - date_of_birth.year) * 12 + (on_date.month - date_of_birth.month)
    last_day = calendar.monthrange(on_date.year, on_date.month)[1]
    anniversary_day = min(date_of_birth.day, last_day)
    if months > 0 and on_date.day < anniversary_day:
        months -= 1
    elif months < 0 and on_date.day > anniversary_day:
        months += 1
    return months

"""Children of a parent account. Every lookup is scoped to the owner: another parent's child is
"not found", never "forbidden", so ids reveal nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, exists, select

from nibog.accounts.models import Child, User
from nibog.booking.models import Booking, BookingItem
from nibog.catalog.models import Event
from nibog.core.errors import Conflict, NotFound, ValidationFailed
from nibog.core.timeutil import today_ist, utcnow
from nibog.extensions import db

MAX_AGE_YEARS = 16


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - years, day=28)


def validate_birth_date(value: date) -> None:
    today = today_ist()
    if value > today:
        raise ValidationFailed({"date_of_birth": ["Date of birth cannot be in the future"]})
    if value < _years_before(today, MAX_AGE_YEARS):
        raise ValidationFailed(
            {"date_of_birth": [f"Date of birth cannot be more than {MAX_AGE_YEARS} years ago"]}
        )


def children_query(user: User) -> Select:
    return (
        select(Child).where(Child.user_id == user.id, Child.deleted_at.is_(None)).order_by(Child.id)
    )


def list_children(user: User) -> list[Child]:
    return list(db.session.scalars(children_query(user)))


def get_child(user: User, child_id: int) -> Child:
    child = db.session.scalar(
        select(Child).where(
            Child.id == child_id, Child.user_id == user.id, Child.deleted_at.is_(None)
        )
    )
    if child is None:
        raise NotFound("Child")
    return child


def add_child(user: User, data: dict) -> Child:
    validate_birth_date(data["date_of_birth"])
    child = Child(
        user_id=user.id,
        full_name=data["full_name"].strip(),
        date_of_birth=data["date_of_birth"],
        gender=data.get("gender"),
        school_name=data.get("school_name"),
    )
    db.session.add(child)
    db.session.flush()
    return child


def update_child(user: User, child_id: int, data: dict) -> Child:
    child = get_child(user, child_id)
    if "date_of_birth" in data:
        validate_birth_date(data["date_of_birth"])
        child.date_of_birth = data["date_of_birth"]
    if "full_name" in data:
        child.full_name = data["full_name"].strip()
    for field in ("gender", "school_name"):
        if field in data:
            setattr(child, field, data[field])
    db.session.flush()
    return child


def has_upcoming_bookings(child_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists()
                .where(BookingItem.child_id == child_id, BookingItem.is_live.is_(True))
                .where(BookingItem.booking_id == Booking.id)
                .where(Booking.status.in_(("pending_payment", "confirmed")))
                .where(Booking.event_id == Event.id)
                .where(Event.event_date >= today_ist())
            )
        )
    )


def delete_child(user: User, child_id: int) -> None:
    """Soft delete: past bookings keep pointing at the child; upcoming ones forbid deletion."""
    child = get_child(user, child_id)
    if has_upcoming_bookings(child.id):
        raise Conflict(
            "child_has_bookings",
            "This child has upcoming bookings; cancel them before removing the child",
        )
    child.deleted_at = utcnow()
    db.session.flush()

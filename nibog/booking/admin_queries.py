"""Admin booking search: by booking number, phone, email, name, event, status, source, date."""

from __future__ import annotations

from sqlalchemy import exists, func, or_, select

from nibog.accounts.models import User
from nibog.booking.models import Booking
from nibog.booking.ops_serialize import admin_booking_dicts
from nibog.catalog.models import Event
from nibog.core.errors import AppError, NotFound
from nibog.core.pagination import paginate
from nibog.extensions import db


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_bookings(args: dict) -> dict:
    stmt = select(Booking)
    if args.get("status"):
        stmt = stmt.where(Booking.status == args["status"])
    if args.get("event_id"):
        stmt = stmt.where(Booking.event_id == args["event_id"])
    if args.get("user_id"):
        stmt = stmt.where(Booking.user_id == args["user_id"])
    if args.get("source"):
        stmt = stmt.where(Booking.source == args["source"])
    if args.get("date_from") or args.get("date_to"):
        dates = select(Event.id)
        if args.get("date_from"):
            dates = dates.where(Event.event_date >= args["date_from"])
        if args.get("date_to"):
            dates = dates.where(Event.event_date <= args["date_to"])
        stmt = stmt.where(Booking.event_id.in_(dates))
    q = (args.get("q") or "").strip()
    if q:
        pattern = _like(q.lower())
        digits = "".join(c for c in q if c.isdigit())
        user_match = select(User.id).where(
            User.id == Booking.user_id,
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
                *([User.phone.like(_like(digits), escape="\\")] if len(digits) >= 4 else []),
            ),
        )
        stmt = stmt.where(
            or_(
                func.upper(Booking.booking_number) == q.upper(),
                func.lower(Booking.booking_number).like(pattern, escape="\\"),
                func.lower(Booking.guest_email).like(pattern, escape="\\"),
                func.lower(Booking.guest_name).like(pattern, escape="\\"),
                *(
                    [Booking.guest_phone.like(_like(digits), escape="\\")]
                    if len(digits) >= 4
                    else []
                ),
                Booking.external_ref == q,
                exists(user_match),
            )
        )
    stmt = stmt.order_by(Booking.created_at.desc(), Booking.id.desc())
    return paginate(
        stmt,
        args["page"],
        args["per_page"],
        transform=admin_booking_dicts,
    )


def require_parent(user_id: int) -> User:
    """The account an admin books for must exist and be active."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("User")
    if not user.is_active:
        raise AppError("user_inactive", "This account is deactivated", 422, {"user_id": user_id})
    return user

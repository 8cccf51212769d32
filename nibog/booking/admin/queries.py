"""Admin booking search: by booking number, phone, email, name, event, status, source, date."""

from __future__ import annotations

from sqlalchemy import exists, func, or_, select

from nibog.accounts.models import Child, User
from nibog.booking.admin.serialize import admin_booking_dicts
from nibog.booking.models import Booking, BookingItem
from nibog.booking.numbers import ALPHABET, looks_like_booking_number
from nibog.catalog.models import Event
from nibog.core.errors import AppError, NotFound
from nibog.core.filters import contains_pattern, where_equal
from nibog.core.pagination import page_envelope, paginate
from nibog.core.timeutil import IST
from nibog.extensions import db


def search_bookings(args: dict) -> dict:
    stmt = where_equal(select(Booking), args, {
        "status": Booking.status, "event_id": Booking.event_id, "user_id": Booking.user_id,
        "source": Booking.source,
    })
    if args.get("date_from") or args.get("date_to"):
        dates = select(Event.id)
        if args.get("date_from"):
            dates = dates.where(Event.event_date >= args["date_from"])
        if args.get("date_to"):
            dates = dates.where(Event.event_date <= args["date_to"])
        stmt = stmt.where(Booking.event_id.in_(dates))
    q = (args.get("q") or "").strip()
    if q:
        pattern = contains_pattern(q.lower())
        digits = "".join(c for c in q if c.isdigit())
        user_match = select(User.id).where(
            User.id == Booking.user_id,
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
                *([User.phone.like(contains_pattern(digits), escape="\\")] if len(digits) >= 4 else []),
            ),
        )
        stmt = stmt.where(
            or_(
                func.upper(Booking.booking_number) == q.upper(),
                func.lower(Booking.booking_number).like(pattern, escape="\\"),
                func.lower(Booking.guest_email).like(pattern, escape="\\"),
                func.lower(Booking.guest_name).like(pattern, escape="\\"),
                *(
                    [Booking.guest_phone.like(contains_pattern(digits), escape="\\")]
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


# ---------------------------------------------------------------- the dashboard's sales pages

# The columns the bookings list sorts by (the URL's ``sort``; ``dir`` asc or desc).
BOOKING_SORTS = {
    "created": Booking.created_at,
    "number": Booking.booking_number,
    "status": Booking.status,
    "total": Booking.total,
    "event_date": Event.event_date,
}


def _query_kind(q: str) -> str:
    """What a search box entry most likely is, so an index answers it: a booking number, an
    e-mail address, a phone number, a piece of a booking number, or a name."""
    if looks_like_booking_number(q):
        return "number"
    if "@" in q:
        return "email"
    digits = "".join(c for c in q if c.isdigit())
    if len(digits) >= 4 and len(digits) >= len(q.replace(" ", "").replace("+", "")) - 1:
        return "phone"
    if digits and len(q) >= 3 and all(c in ALPHABET or c in "-0123456789" for c in q.upper()):
        return "fragment"  # names have no digits; "7K3Q" is part of NIB-26-7K3Q9M
    return "text"


def _search_clause(q: str):
    """Each kind reads trigram indexes (pg_trgm: users, children, guest columns) or a unique
    key; only a piece of a booking number scans the bookings. The ways a booking can match are
    a UNION of ids, not an OR: each part then uses its own index instead of the planner
    scanning every booking to test an OR of subqueries."""
    from sqlalchemy import union_all


    kind = _query_kind(q)
    if kind == "number":
        return Booking.booking_number == q.upper()
    if kind == "fragment":
        return Booking.booking_number.like(contains_pattern(q.upper()), escape="\\")
    guest = Booking.guest_email.is_not(None)  # the guest columns' partial indexes
    if kind == "email":
        pattern = contains_pattern(q)
        parts = [
            select(Booking.id).where(Booking.user_id.in_(
                select(User.id).where(User.email.ilike(pattern, escape="\\")))),
            select(Booking.id).where(guest, Booking.guest_email.ilike(pattern, escape="\\")),
        ]
    elif kind == "phone":
        digits = contains_pattern("".join(c for c in q if c.isdigit())[-10:])
        parts = [
            select(Booking.id).where(Booking.user_id.in_(
                select(User.id).where(User.phone.like(digits, escape="\\")))),
            select(Booking.id).where(guest, Booking.guest_phone.like(digits, escape="\\")),
        ]
    else:
        pattern = contains_pattern(q)
        parts = [
            select(Booking.id).where(Booking.user_id.in_(
                select(User.id).where(User.full_name.ilike(pattern, escape="\\")))),
            select(BookingItem.booking_id)
            .join(Child, Child.id == BookingItem.child_id)
            .where(Child.full_name.ilike(pattern, escape="\\")),
            select(Booking.id).where(guest, Booking.guest_name.ilike(pattern, escape="\\")),
            select(Booking.id).where(Booking.external_ref == q),
        ]
    return Booking.id.in_(union_all(*parts))


def booking_rows(filters: dict):
    """The dashboard's bookings list, unsorted (``BOOKING_SORTS`` are its orders).

    ``filters``: q (booking number, e-mail, phone, parent or child name), status, event_id,
    source, user_id, date_from/date_to (``date_on`` "event": the event's date, "booked": the
    day it was made, in India). Each row: the booking, its event's title and date, and the
    parent's name, e-mail and phone (the account's, else the guest's).
    """
    from datetime import datetime, time, timedelta


    parent_name = func.coalesce(User.full_name, Booking.guest_name)
    parent_email = func.coalesce(User.email, Booking.guest_email)
    parent_phone = func.coalesce(User.phone, Booking.guest_phone)
    stmt = (
        select(Booking, Event.title, Event.event_date, parent_name, parent_email, parent_phone)
        .join(Event, Event.id == Booking.event_id)
        .outerjoin(User, User.id == Booking.user_id)
    )
    for name in ("status", "event_id", "source", "user_id"):
        if filters.get(name):
            stmt = stmt.where(getattr(Booking, name) == filters[name])
    start, end = filters.get("date_from"), filters.get("date_to")
    if filters.get("date_on") == "booked":
        if start:
            stmt = stmt.where(Booking.created_at >= datetime.combine(start, time(), IST))
        if end:
            stmt = stmt.where(
                Booking.created_at < datetime.combine(end + timedelta(days=1), time(), IST)
            )
    else:
        if start:
            stmt = stmt.where(Event.event_date >= start)
        if end:
            stmt = stmt.where(Event.event_date <= end)
    q = (filters.get("q") or "").strip()
    if q:
        stmt = stmt.where(_search_clause(q))
    return stmt


def page_of_rows(stmt, page: int, per_page: int) -> dict:
    """``paginate`` for statements of several columns (rows, not single objects). The count
    reads the first entity's key only: the other columns (a per-row subquery, say) would be
    computed for every row just to be counted."""
    first = stmt.column_descriptions[0]["entity"]
    counted = stmt.with_only_columns(first.id) if first is not None else stmt
    total = db.session.scalar(select(func.count()).select_from(counted.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return page_envelope(rows, page, per_page, total or 0)

"""Parents' reviews of an event, one per booking, once the event is over."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select

from nibog.booking.models import Booking, BookingItem
from nibog.catalog.cache import invalidate_event
from nibog.catalog.models import Event, Review
from nibog.core.errors import AppError, Conflict, NotFound
from nibog.core.timeutil import local_to_utc, utcnow
from nibog.extensions import db

# A booking that never took place (cancelled, expired, unpaid) has nothing to review.
REVIEWABLE_STATUSES = ("confirmed", "completed")


def _own_booking(booking_id: int, user_id: int, *, lock: bool = False) -> Booking:
    stmt = select(Booking).where(Booking.id == booking_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    booking = db.session.scalar(stmt)
    # Someone else's booking is "not found": never reveal that it exists.
    if booking is None or booking.user_id != user_id:
        raise NotFound("Booking")
    return booking


def _event_over(event: Event, now: datetime) -> bool:
    return event.status == "completed" or now >= local_to_utc(event.event_date, event.end_time)


def _check_reviewable(booking: Booking) -> Event:
    if booking.status not in REVIEWABLE_STATUSES:
        raise AppError(
            "booking_not_reviewable",
            "Only a confirmed booking can be reviewed",
            422,
            {"status": booking.status},
        )
    event = db.session.get(Event, booking.event_id)
    live, absent = db.session.execute(
        select(func.count(), func.coalesce(func.sum(
            case((BookingItem.attendance == "no_show", 1), else_=0)), 0))
        .where(BookingItem.booking_id == booking.id, BookingItem.is_live.is_(True))
    ).one()
    if live and absent == live:
        # The organisers recorded that none of the booking's children came.
        raise AppError(
            "booking_not_reviewable", "Only families who took part can review the event", 422,
            {"attendance": "no_show"},
        )
    if not _event_over(event, utcnow()):
        raise AppError(
            "event_not_over",
            "You can review the event once it is over",
            422,
            {"event_date": event.event_date.isoformat()},
        )
    return event


def review_state(booking: Booking, user_id: int) -> tuple[Review | None, AppError | None]:
    """For the booking page: the parent's review if any, and why a review cannot be written
    (or edited) now, or None when it can. Same rules as ``create_review``."""
    if booking.user_id != user_id:
        raise NotFound("Booking")
    review = db.session.scalar(select(Review).where(Review.booking_id == booking.id))
    try:
        _check_reviewable(booking)
    except AppError as exc:
        return review, exc
    return review, None


def get_review(booking_id: int, user_id: int) -> Review:
    _own_booking(booking_id, user_id)
    review = db.session.scalar(select(Review).where(Review.booking_id == booking_id))
    if review is None:
        raise NotFound("Review")
    return review


def create_review(booking_id: int, user_id: int, *, rating: int, comment: str = "") -> Review:
    # The booking row lock serialises two concurrent first reviews; the unique booking_id
    # constraint stays the last line of defence.
    booking = _own_booking(booking_id, user_id, lock=True)
    _check_reviewable(booking)
    if db.session.scalar(select(Review.id).where(Review.booking_id == booking_id)) is not None:
        raise Conflict("review_exists", "This booking already has a review; edit it instead")
    review = Review(
        booking_id=booking.id,
        event_id=booking.event_id,
        user_id=user_id,
        rating=rating,
        comment=(comment or "").strip(),
    )
    db.session.add(review)
    db.session.flush()
    _invalidate(booking.event_id)
    return review


def update_review(
    booking_id: int, user_id: int, *, rating: int | None = None, comment: str | None = None
) -> Review:
    review = get_review(booking_id, user_id)
    booking = db.session.get(Booking, booking_id)
    _check_reviewable(booking)
    if rating is not None:
        review.rating = rating
    if comment is not None:
        review.comment = comment.strip()
    db.session.flush()
    _invalidate(booking.event_id)
    return review


def delete_review(booking_id: int, user_id: int) -> None:
    review = get_review(booking_id, user_id)
    event_id = review.event_id
    db.session.delete(review)
    db.session.flush()
    _invalidate(event_id)


def _invalidate(event_id: int) -> None:
    """The event page shows the rating: the catalog drops its cached copy."""
    invalidate_event(event_id)

"""POST|PUT|DELETE /api/bookings/{id}/review: the booking owner's review of the event."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from nibog.core.auth import auth_required, current_user
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db
from nibog.reviews import service as reviews

blp = Blueprint(
    "booking_reviews", __name__, url_prefix="/api/bookings", description="Reviews of booked events"
)


class BookingReviewInSchema(Schema):
    rating = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class BookingReviewUpdateSchema(Schema):
    rating = fields.Integer(validate=validate.Range(min=1, max=5))
    comment = fields.String(validate=validate.Length(max=2000))


class BookingReviewSchema(Schema):
    id = fields.Integer()
    booking_id = fields.Integer()
    event_id = fields.Integer()
    rating = fields.Integer()
    comment = fields.String()
    created_at = fields.String()
    updated_at = fields.String()


def _out(review) -> dict:
    return {
        "id": review.id,
        "booking_id": review.booking_id,
        "event_id": review.event_id,
        "rating": review.rating,
        "comment": review.comment,
        "created_at": isoformat_ist(review.created_at),
        "updated_at": isoformat_ist(review.updated_at),
    }


@blp.get("/<int:booking_id>/review")
@auth_required()
@blp.response(200, BookingReviewSchema)
def get_review(booking_id: int):
    return _out(reviews.get_review(booking_id, current_user().id))


@blp.post("/<int:booking_id>/review")
@auth_required()
@blp.arguments(BookingReviewInSchema)
@blp.response(201, BookingReviewSchema)
def create_review(data: dict, booking_id: int):
    review = reviews.create_review(booking_id, current_user().id, **data)
    return _out(review)


@blp.put("/<int:booking_id>/review")
@auth_required()
@blp.arguments(BookingReviewUpdateSchema)
@blp.response(200, BookingReviewSchema)
def update_review(data: dict, booking_id: int):
    review = reviews.update_review(booking_id, current_user().id, **data)
    # updated_at is set by the database on update; reload it for the response.
    db.session.refresh(review)
    return _out(review)


@blp.delete("/<int:booking_id>/review")
@auth_required()
@blp.response(204)
def delete_review(booking_id: int):
    reviews.delete_review(booking_id, current_user().id)
    return ""

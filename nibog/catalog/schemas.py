"""Public catalog schemas: query arguments, and response shapes for the OpenAPI document.

Responses are built as plain dicts (``presenters.py``) and often served from the cache as JSON
text, so dates and times are declared as formatted strings here.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from nibog.catalog.queries import SORTS
from nibog.core.pagination import PageArgsSchema, page_schema

DateStr = lambda: fields.String(metadata={"format": "date", "example": "2026-12-20"})  # noqa: E731
TimeStr = lambda: fields.String(metadata={"example": "09:30"})  # noqa: E731
Stamp = lambda: fields.String(metadata={"format": "date-time"}, allow_none=True)  # noqa: E731


class EventListArgs(PageArgsSchema):
    city_id = fields.Integer(validate=validate.Range(min=1))
    venue_id = fields.Integer(validate=validate.Range(min=1))
    category = fields.String(validate=validate.Length(min=1, max=60))
    date_from = fields.Date()
    date_to = fields.Date()
    age_months = fields.Integer(validate=validate.Range(min=0, max=240))
    min_price = fields.Integer(validate=validate.Range(min=0))
    max_price = fields.Integer(validate=validate.Range(min=0))
    available = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=100))
    sort = fields.String(load_default="date", validate=validate.OneOf(SORTS))

    @validates_schema
    def _ranges(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("must not be before date_from", "date_to")
        lo, hi = data.get("min_price"), data.get("max_price")
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError("must not be below min_price", "max_price")


class LimitArgs(Schema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))
    city_id = fields.Integer(validate=validate.Range(min=1))


class VenueArgs(Schema):
    city_id = fields.Integer(validate=validate.Range(min=1))


class SlotArgs(Schema):
    age_months = fields.Integer(validate=validate.Range(min=0, max=240))
    child_id = fields.Integer(validate=validate.Range(min=1))


class EligibilityArgs(Schema):
    child_id = fields.Integer(validate=validate.Range(min=1))
    date_of_birth = fields.Date()


class CitySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    state = fields.String()
    slug = fields.String()
    event_count = fields.Integer()


class VenueSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    city_id = fields.Integer()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    city = fields.Nested(CitySchema)


class EventItemSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    slug = fields.String()
    city = fields.Nested(CitySchema)
    venue = fields.Nested(VenueSchema)
    event_date = DateStr()
    start_time = TimeStr()
    end_time = TimeStr()
    image_url = fields.String(allow_none=True)
    min_age_months = fields.Integer(allow_none=True)
    max_age_months = fields.Integer(allow_none=True)
    price_from = fields.Integer(allow_none=True, metadata={"description": "paise"})
    seats_left = fields.Integer()
    is_featured = fields.Boolean()
    status = fields.String()


EventPageSchema = page_schema(EventItemSchema, "EventPage")


class SlotSchema(Schema):
    id = fields.Integer()
    event_game_id = fields.Integer()
    game_name = fields.String()
    start_time = TimeStr()
    end_time = TimeStr()
    capacity = fields.Integer()
    seats_left = fields.Integer()
    price = fields.Integer(allow_none=True)
    status = fields.String(metadata={"enum": ["available", "full", "closed"]})


class GameInfoSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    category = fields.String(allow_none=True)
    min_age_months = fields.Integer()
    max_age_months = fields.Integer()
    duration_minutes = fields.Integer()


class EventGameSchema(Schema):
    event_game_id = fields.Integer()
    game = fields.Nested(GameInfoSchema)
    price = fields.Integer(allow_none=True)
    slots = fields.List(fields.Nested(SlotSchema))


class VariantSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    price = fields.Integer()
    stock_left = fields.Integer(allow_none=True, metadata={"description": "null = unlimited"})


class AddOnSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    price = fields.Integer()
    variants = fields.List(fields.Nested(VariantSchema))


class GalleryImageSchema(Schema):
    id = fields.Integer()
    image_url = fields.String()
    caption = fields.String()


class EventFaqSchema(Schema):
    id = fields.Integer()
    question = fields.String()
    answer = fields.String()


class RatingSchema(Schema):
    average = fields.Float(allow_none=True)
    count = fields.Integer()


class EventDetailSchema(EventItemSchema):
    description = fields.String()
    registration_opens_at = Stamp()
    registration_closes_at = Stamp()
    registration_open = fields.Boolean()
    games = fields.List(fields.Nested(EventGameSchema))
    gallery = fields.List(fields.Nested(GalleryImageSchema))
    faqs = fields.List(fields.Nested(EventFaqSchema))
    addons = fields.List(fields.Nested(AddOnSchema))
    rating = fields.Nested(RatingSchema)


class CategorySchema(Schema):
    name = fields.String()
    event_count = fields.Integer()


class AgeRangeSchema(Schema):
    label = fields.String()
    min_age_months = fields.Integer()
    max_age_months = fields.Integer()


class GameBriefSchema(Schema):
    event_game_id = fields.Integer()
    game_id = fields.Integer()
    name = fields.String()
    min_age_months = fields.Integer()
    max_age_months = fields.Integer()
    price = fields.Integer(allow_none=True)
    reason = fields.String(metadata={"enum": ["too_young", "too_old"]})
    message = fields.String()


class EligibilitySchema(Schema):
    event_id = fields.Integer()
    event_date = DateStr()
    age_months_on_event_date = fields.Integer()
    eligible_games = fields.List(fields.Nested(GameBriefSchema))
    ineligible_games = fields.List(fields.Nested(GameBriefSchema))


class EventReviewSchema(Schema):
    id = fields.Integer()
    rating = fields.Integer()
    comment = fields.String()
    author_name = fields.String()
    created_at = Stamp()


EventReviewPageSchema = page_schema(EventReviewSchema, "EventReviewPage")

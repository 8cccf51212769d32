"""Public event discovery: /api/events…"""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from nibog.catalog import microcache, queries, service
from nibog.catalog import schemas as s
from nibog.core.auth import auth_required, current_user
from nibog.core.pagination import PageArgsSchema

blp = Blueprint("events", __name__, url_prefix="/api/events", description="Event discovery")


@blp.teardown_app_request
def _close_replica_session(_exc=None):
    queries.close_read_session()


blp.before_request(microcache.serve_cached)
blp.after_request(microcache.store)


def json_text(text: str) -> Response:
    """Cached JSON goes out as stored; re-serialising it would waste the cache hit."""
    return Response(text, mimetype="application/json")


@blp.get("")
@blp.arguments(s.EventListArgs, location="query")
@blp.response(200, s.EventPageSchema)
def list_events(args):
    """Published events, filtered, sorted and paginated. Without date_from, from today on."""
    page, per_page, sort = args.pop("page"), args.pop("per_page"), args.pop("sort")
    return json_text(service.list_events_json(queries.EventFilters(**args), sort, page, per_page))


@blp.get("/featured")
@blp.arguments(s.LimitArgs, location="query")
@blp.response(200, s.EventItemSchema(many=True))
def featured(args):
    return json_text(service.featured_json(args["limit"]))


@blp.get("/upcoming")
@blp.arguments(s.LimitArgs, location="query")
@blp.response(200, s.EventItemSchema(many=True))
def upcoming(args):
    return json_text(service.upcoming_json(args["limit"], args.get("city_id")))


@blp.get("/cities")
@blp.response(200, s.CitySchema(many=True))
def cities():
    """Cities with upcoming published events, with how many."""
    return json_text(service.cities_with_events_json())


@blp.get("/categories")
@blp.response(200, s.CategorySchema(many=True))
def categories():
    return json_text(service.categories_json())


@blp.get("/venues")
@blp.arguments(s.VenueArgs, location="query")
@blp.response(200, s.VenueSchema(many=True))
def venues(args):
    return json_text(service.venues_json(args.get("city_id")))


@blp.get("/age-ranges")
@blp.response(200, s.AgeRangeSchema(many=True))
def age_ranges():
    return service.AGE_RANGES


@blp.get("/<int:event_id>")
@blp.response(200, s.EventDetailSchema)
def event_detail(event_id: int):
    """Event with games, slots (live seats), gallery, FAQs, add-ons and rating."""
    return json_text(service.event_detail_json(event_id))


@blp.get("/<int:event_id>/slots")
@auth_required(optional=True)
@blp.arguments(s.SlotArgs, location="query")
@blp.response(200, s.SlotSchema(many=True))
def event_slots(args, event_id: int):
    """Slots with live seats; ``age_months`` or ``child_id`` (yours, signed in) keep those that fit."""
    return service.event_slots(
        event_id,
        age_months=args.get("age_months"),
        child_id=args.get("child_id"),
        user=current_user(optional=True),
    )


@blp.get("/<int:event_id>/check-eligibility")
@auth_required(optional=True)
@blp.arguments(s.EligibilityArgs, location="query")
@blp.response(200, s.EligibilitySchema)
def check_eligibility(args, event_id: int):
    """Age in whole months on the event date, and which games fit (reasons for the others)."""
    return service.check_eligibility(
        event_id,
        child_id=args.get("child_id"),
        date_of_birth=args.get("date_of_birth"),
        user=current_user(optional=True),
    )


@blp.get("/<int:event_id>/reviews")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, s.EventReviewPageSchema)
def event_reviews(args, event_id: int):
    return service.event_reviews(event_id, args["page"], args["per_page"])


@blp.get("/<int:event_id>/add-ons")
@blp.response(200, s.AddOnSchema(many=True))
def event_addons(event_id: int):
    """Active add-ons with variants and live stock (null stock_left = unlimited)."""
    return service.event_addons(event_id)

"""Public catalog reads: listing, detail, slots, eligibility, reviews, add-ons, lookups.

Functions ending in ``_json`` return JSON text straight from the cache (see ``catalog/cache.py``);
the others compute live answers. None of them writes.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date

from sqlalchemy import distinct, func, select

from nibog.accounts.models import Child, User
from nibog.catalog import cache as catalog_cache
from nibog.catalog import presenters as p
from nibog.catalog import queries as q
from nibog.catalog.models import City, Event, EventGame, GameTemplate, Review, Venue
from nibog.core.errors import AppError, NotFound, ValidationFailed
from nibog.core.pagination import page_envelope
from nibog.core.timeutil import age_in_months, isoformat_ist, today_ist
from nibog.extensions import db

# Standard bands parents pick from; games declare their own ranges in months.
AGE_RANGES = [
    {"label": "5-12 months", "min_age_months": 5, "max_age_months": 12},
    {"label": "1-2 years", "min_age_months": 13, "max_age_months": 24},
    {"label": "2-3 years", "min_age_months": 25, "max_age_months": 36},
    {"label": "3-4 years", "min_age_months": 37, "max_age_months": 48},
    {"label": "4-5 years", "min_age_months": 49, "max_age_months": 60},
    {"label": "5-7 years", "min_age_months": 61, "max_age_months": 84},
]


def list_events(filters: q.EventFilters, sort: str, page: int, per_page: int) -> dict:
    rows, total = q.list_events(filters, sort, page, per_page)
    return page_envelope([p.event_item(*row) for row in rows], page, per_page, total)


def list_events_json(filters: q.EventFilters, sort: str, page: int, per_page: int) -> str:
    if filters.date_from is None:
        # Parents browse what they can still attend; past dates only when asked for.
        filters.date_from = today_ist()
    params = {**asdict(filters), "sort": sort, "page": page, "per_page": per_page}
    return catalog_cache.cached(
        "events", params, catalog_cache.list_ttl(),
        lambda: list_events(filters, sort, page, per_page),
    )


def featured_json(limit: int) -> str:
    filters = q.EventFilters(featured=True, date_from=today_ist())
    return catalog_cache.cached(
        "featured", {"limit": limit, "today": str(filters.date_from)}, catalog_cache.list_ttl(),
        lambda: list_events(filters, "date", 1, limit)["items"],
    )


def upcoming_json(limit: int, city_id: int | None) -> str:
    filters = q.EventFilters(date_from=today_ist(), city_id=city_id)
    return catalog_cache.cached(
        "upcoming", {"limit": limit, "city_id": city_id, "today": str(filters.date_from)},
        catalog_cache.list_ttl(),
        lambda: list_events(filters, "date", 1, limit)["items"],
    )


def _require_event(event_id: int, include_drafts: bool = False, session=None) -> Event:
    event = q.load_event(event_id, include_drafts=include_drafts, session=session)
    if event is None:
        raise NotFound("Event")
    return event


def event_detail(event_id: int, *, include_drafts: bool = False, primary: bool = False) -> dict:
    """Full detail, computed from the database (no cache).

    ``primary`` reads the primary database: admins must see their own write at once, which a
    lagging replica cannot promise.
    """
    session = db.session if primary else None
    event = _require_event(event_id, include_drafts, session)
    return p.event_detail(event, q.load_extras(event.id, session))


def event_detail_json(event_id: int) -> str:
    """Cached static detail with live seats, slot states and stock laid over it."""
    text = catalog_cache.cached(
        "event", {"id": event_id}, catalog_cache.detail_ttl(), lambda: event_detail(event_id)
    )
    detail = json.loads(text)
    p.overlay_live(detail, q.live_slot_counts(event_id), q.live_variant_stock(event_id))
    return json.dumps(detail, separators=(",", ":"))


def _owned_child(child_id: int, user):
    if user is None:
        raise AppError("unauthorized", "Sign in to check a child's eligibility", 401)
    child = q.read_session().get(Child, child_id)
    if child is None or child.user_id != user.id or child.deleted_at is not None:
        raise NotFound("Child")
    return child


def event_slots(event_id: int, *, age_months: int | None, child_id: int | None, user) -> list[dict]:
    event = _require_event(event_id)
    if child_id is not None:
        age_months = age_in_months(_owned_child(child_id, user).date_of_birth, event.event_date)
    reg_open = p.registration_open(
        event.status, event.registration_opens_at, p.registration_closes_at(event)
    )
    out = []
    queued = q.queued_slot_ids([s.id for game in event.games for s in game.slots])
    for game in event.games:
        lo, hi = p.effective_ages(game)
        if age_months is not None and not lo <= age_months <= hi:
            continue
        out.extend(p.slot_dict(s, game, reg_open, s.id in queued) for s in game.slots)
    return out


def _game_brief(game: EventGame) -> dict:
    lo, hi = p.effective_ages(game)
    return {
        "event_game_id": game.id,
        "game_id": game.game_template_id,
        "name": game.template.name,
        "min_age_months": lo,
        "max_age_months": hi,
        "price": p.effective_game_price(game),
    }


def check_eligibility(
    event_id: int, *, child_id: int | None, date_of_birth: date | None, user
) -> dict:
    """Which games a child fits, by whole months completed on the event date."""
    if child_id is None and date_of_birth is None:
        raise ValidationFailed(
            {"child_id": ["Give child_id or date_of_birth"]}, "child_id or date_of_birth is required"
        )
    event = _require_event(event_id)
    if child_id is not None:
        date_of_birth = _owned_child(child_id, user).date_of_birth
    if date_of_birth > event.event_date:
        raise ValidationFailed({"date_of_birth": ["Must not be after the event date"]})
    age = age_in_months(date_of_birth, event.event_date)
    eligible, ineligible = [], []
    for game in event.games:
        brief = _game_brief(game)
        lo, hi = brief["min_age_months"], brief["max_age_months"]
        if age < lo:
            brief.update(
                reason="too_young",
                message=f"{age} months on {event.event_date}; {brief['name']} needs {lo}-{hi} months",
            )
            ineligible.append(brief)
        elif age > hi:
            brief.update(
                reason="too_old",
                message=f"{age} months on {event.event_date}; {brief['name']} is for {lo}-{hi} months",
            )
            ineligible.append(brief)
        else:
            eligible.append(brief)
    return {
        "event_id": event.id,
        "event_date": event.event_date.isoformat(),
        "age_months_on_event_date": age,
        "eligible_games": eligible,
        "ineligible_games": ineligible,
    }


def event_reviews(event_id: int, page: int, per_page: int) -> dict:
    _require_event(event_id)
    session = q.read_session()
    conds = (Review.event_id == event_id, Review.is_published.is_(True))
    total = session.scalar(select(func.count(Review.id)).where(*conds)) or 0
    rows = session.execute(
        select(Review, User.full_name)
        .outerjoin(User, User.id == Review.user_id)
        .where(*conds)
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = [
        {
            "id": r.id,
            "rating": r.rating,
            "comment": r.comment,
            # First name only: reviews are public.
            "author_name": (name or "").split(" ")[0] or "Parent",
            "created_at": isoformat_ist(r.created_at),
        }
        for r, name in rows
    ]
    return page_envelope(items, page, per_page, total)


def event_reviews_json(event_id: int, per_page: int = 5) -> str:
    """The newest published reviews (the event page's), cached as long as the detail whose
    rating they go with."""
    return catalog_cache.cached(
        "reviews", {"id": event_id, "n": per_page}, catalog_cache.detail_ttl(),
        lambda: event_reviews(event_id, 1, per_page),
    )


def event_addons(event_id: int) -> list[dict]:
    _require_event(event_id)
    return [p.addon_dict(a) for a in q.load_addons(event_id)]


def _upcoming_published():
    return (Event.status == "published", Event.event_date >= today_ist())


def cities_with_events_json() -> str:
    def build():
        rows = q.read_session().execute(
            select(City, func.count(Event.id))
            .join(Event, Event.city_id == City.id)
            .where(City.is_active.is_(True), *_upcoming_published())
            .group_by(City.id)
            .order_by(City.name)
        ).all()
        return [{**p.city_dict(c), "event_count": n} for c, n in rows]

    return catalog_cache.cached("cities", {"today": str(today_ist())}, 300, build)


def categories_json() -> str:
    def build():
        rows = q.read_session().execute(
            select(GameTemplate.category, func.count(distinct(Event.id)))
            .join(EventGame, EventGame.game_template_id == GameTemplate.id)
            .join(Event, Event.id == EventGame.event_id)
            .where(GameTemplate.category.is_not(None), *_upcoming_published())
            .group_by(GameTemplate.category)
            .order_by(GameTemplate.category)
        ).all()
        return [{"name": c, "event_count": n} for c, n in rows]

    return catalog_cache.cached("categories", {"today": str(today_ist())}, 300, build)


def venues_json(city_id: int | None) -> str:
    def build():
        stmt = select(Venue).where(Venue.is_active.is_(True)).order_by(Venue.name, Venue.id)
        if city_id is not None:
            stmt = stmt.where(Venue.city_id == city_id)
        return [
            {**p.venue_dict(v), "city": p.city_dict(v.city)} for v in q.read_session().scalars(stmt)
        ]

    return catalog_cache.cached("venues", {"city_id": city_id}, 300, build)


def active_cities() -> list[dict]:
    rows = q.read_session().scalars(
        select(City).where(City.is_active.is_(True)).order_by(City.name)
    )
    return [p.city_dict(c) for c in rows]


def active_cities_json() -> str:
    return catalog_cache.cached("all_cities", {}, 300, active_cities)

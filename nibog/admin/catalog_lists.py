"""The dashboard's catalog lists: one query per list with the columns it may be sorted by.

Sorting and paging are the caller's (``admin.views.listing``); filters are applied here so the
same list can serve an export later.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, or_, select

from nibog.booking.models import PromoCode
from nibog.catalog.models import City, Event, EventGame, GameSlot, GameTemplate, Venue
from nibog.core.filters import contains_pattern


def cities(q: str | None, active: bool | None) -> tuple[Select, dict]:
    venues = (select(func.count(Venue.id)).where(Venue.city_id == City.id)
              .correlate(City).scalar_subquery())
    stmt = select(City, venues.label("venues"))
    if q:
        like = contains_pattern(q)
        stmt = stmt.where(or_(City.name.ilike(like), City.state.ilike(like)))
    if active is not None:
        stmt = stmt.where(City.is_active.is_(active))
    return stmt, {"name": City.name, "state": City.state, "venues": venues}


def venues(q: str | None, city_id: int | None, active: bool | None) -> tuple[Select, dict]:
    stmt = select(Venue).join(City, City.id == Venue.city_id)
    if q:
        like = contains_pattern(q)
        stmt = stmt.where(or_(Venue.name.ilike(like), Venue.address.ilike(like)))
    if city_id:
        stmt = stmt.where(Venue.city_id == city_id)
    if active is not None:
        stmt = stmt.where(Venue.is_active.is_(active))
    return stmt, {"name": Venue.name, "city": City.name, "capacity": Venue.capacity}


def games(q: str | None, category: str | None, active: bool | None) -> tuple[Select, dict]:
    stmt = select(GameTemplate)
    if q:
        stmt = stmt.where(GameTemplate.name.ilike(contains_pattern(q)))
    if category:
        stmt = stmt.where(GameTemplate.category == category.strip().lower())
    if active is not None:
        stmt = stmt.where(GameTemplate.is_active.is_(active))
    return stmt, {
        "name": GameTemplate.name, "category": GameTemplate.category,
        "age": GameTemplate.min_age_months, "price": GameTemplate.default_price,
    }


def game_categories() -> Select:
    return (select(GameTemplate.category).where(GameTemplate.category.is_not(None))
            .distinct().order_by(GameTemplate.category))


def events(*, q: str | None = None, status: str | None = None, city_id: int | None = None,
           venue_id: int | None = None, date_from: date | None = None,
           date_to: date | None = None) -> tuple[Select, dict]:
    seats = (
        select(EventGame.event_id.label("event_id"),
               func.sum(GameSlot.capacity).label("capacity"),
               func.sum(GameSlot.booked_count).label("taken"))
        .join(GameSlot, GameSlot.event_game_id == EventGame.id)
        .group_by(EventGame.event_id)
        .subquery()
    )
    stmt = (
        select(Event, City.name.label("city"), Venue.name.label("venue"),
               func.coalesce(seats.c.taken, 0).label("taken"),
               func.coalesce(seats.c.capacity, 0).label("capacity"))
        .join(City, City.id == Event.city_id)
        .join(Venue, Venue.id == Event.venue_id)
        .outerjoin(seats, seats.c.event_id == Event.id)
    )
    if q:
        like = contains_pattern(q)
        stmt = stmt.where(or_(Event.title.ilike(like), Event.slug.ilike(like)))
    if status:
        stmt = stmt.where(Event.status == status)
    if city_id:
        stmt = stmt.where(Event.city_id == city_id)
    if venue_id:
        stmt = stmt.where(Event.venue_id == venue_id)
    if date_from:
        stmt = stmt.where(Event.event_date >= date_from)
    if date_to:
        stmt = stmt.where(Event.event_date <= date_to)
    return stmt, {
        "date": Event.event_date, "title": Event.title, "status": Event.status,
        "city": City.name, "bookings": Event.bookings_count,
    }


def promos(q: str | None, active: bool | None) -> tuple[Select, dict]:
    stmt = select(PromoCode)
    if q:
        like = contains_pattern(q)
        stmt = stmt.where(or_(PromoCode.code.ilike(like),
                              PromoCode.description.ilike(like)))
    if active is not None:
        stmt = stmt.where(PromoCode.is_active.is_(active))
    return stmt, {
        "code": PromoCode.code, "used": PromoCode.used_count,
        "until": PromoCode.valid_until, "created": PromoCode.created_at,
    }


def city_choices() -> Select:
    return select(City.id, City.name, City.state).order_by(City.name, City.state)


def venue_choices() -> Select:
    return (select(Venue.id, Venue.name, City.name, Venue.city_id)
            .join(City, City.id == Venue.city_id).order_by(City.name, Venue.name))


def template_choices() -> Select:
    return select(GameTemplate.id, GameTemplate.name, GameTemplate.is_active).order_by(
        GameTemplate.name)

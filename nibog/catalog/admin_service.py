"""Admin writes for cities, venues, game templates, event gallery and event FAQs.

Every write: validate, change, flush, audit (before/after) and invalidate the catalog cache after
the commit. The boundary (view) commits.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, func, or_, select

from nibog.catalog.cache import invalidate_catalog
from nibog.catalog.models import (
    City,
    Event,
    EventFaq,
    EventGalleryImage,
    EventGame,
    EventStatus,
    GameTemplate,
    Venue,
)
from nibog.core.audit import record, snapshot
from nibog.core.errors import Conflict, NotFound, ValidationFailed
from nibog.core.pagination import paginate
from nibog.core.timeutil import today_ist
from nibog.extensions import db


@dataclass(frozen=True)
class Actor:
    id: int
    ip: str | None = None


def audit(action: str, entity: Any, actor: Actor, before: dict | None, **kw) -> None:
    record(action, entity, actor_id=actor.id, before=before, client_ip=actor.ip, **kw)


def slugify(text: str, max_len: int = 100) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_len].strip("-") or "item"


def unique_slug(model, base: str, max_len: int = 200) -> str:
    """``base`` plus a short random suffix, retried until no row has it."""
    stem = slugify(base, max_len - 7)
    while True:
        candidate = f"{stem}-{secrets.token_hex(3)}"
        if not db.session.scalar(select(exists().where(model.slug == candidate))):
            return candidate


def get_or_404(model, obj_id: int, what: str, *, lock: bool = False):
    # ``of``: some models eager-join a parent, and PostgreSQL refuses FOR UPDATE on outer joins.
    obj = db.session.get(model, obj_id, with_for_update={"of": model} if lock else None)
    if obj is None:
        raise NotFound(what)
    return obj


def _apply(obj, data: dict) -> None:
    for key, value in data.items():
        setattr(obj, key, value)


# The write steps every kind below shares: flush, audit ``<kind>.<verb>``, refresh the catalog.


def _created(obj, kind: str, actor: Actor):
    db.session.add(obj)
    db.session.flush()
    audit(f"{kind}.create", obj, actor, None)
    invalidate_catalog()
    return obj


def _updated(obj, kind: str, actor: Actor, before: dict):
    db.session.flush()
    audit(f"{kind}.update", obj, actor, before)
    invalidate_catalog()
    return obj


def _deleted(obj, kind: str, actor: Actor, *in_use) -> None:
    """Refused (409 ``in_use``) while a ``(condition, code, message)`` still has a row."""
    for condition, code, message in in_use:
        if db.session.scalar(select(exists().where(condition))):
            raise Conflict(code, message)
    before = snapshot(obj)
    model = type(obj)
    obj_id = obj.id
    db.session.execute(delete(model).where(model.id == obj_id))
    audit(f"{kind}.delete", None, actor, before, entity_type=model.__tablename__,
          entity_id=obj_id)
    invalidate_catalog()


# -- cities ----------------------------------------------------------------------------------


def list_cities(page: int, per_page: int, q: str | None = None, is_active: bool | None = None):
    stmt = select(City).order_by(City.name, City.id)
    if q:
        stmt = stmt.where(City.name.ilike(f"%{q}%"))
    if is_active is not None:
        stmt = stmt.where(City.is_active.is_(is_active))
    return paginate(stmt, page, per_page)


def _check_city_unique(name: str, state: str, exclude_id: int | None = None) -> None:
    stmt = select(City.id).where(func.lower(City.name) == name.lower(), City.state == state)
    if exclude_id:
        stmt = stmt.where(City.id != exclude_id)
    if db.session.scalar(stmt):
        raise Conflict("city_exists", f"{name}, {state} already exists")


def create_city(data: dict, actor: Actor) -> City:
    data["name"] = data["name"].strip()
    _check_city_unique(data["name"], data.get("state", ""))
    return _created(City(**data, slug=unique_slug(City, f"{data['name']}", 120)), "city", actor)


def update_city(city_id: int, data: dict, actor: Actor) -> City:
    city = get_or_404(City, city_id, "City")
    before = snapshot(city)
    _apply(city, data)
    _check_city_unique(city.name, city.state, city.id)
    return _updated(city, "city", actor, before)


def delete_city(city_id: int, actor: Actor) -> None:
    city = get_or_404(City, city_id, "City", lock=True)
    _deleted(
        city, "city", actor,
        (Event.city_id == city_id, "city_in_use",
         f"{city.name} has events; move or delete them first"),
        (Venue.city_id == city_id, "city_in_use",
         f"{city.name} has venues; move or delete them first"),
    )


# -- venues ----------------------------------------------------------------------------------


def list_venues(page: int, per_page: int, city_id: int | None = None, q: str | None = None):
    stmt = select(Venue).order_by(Venue.name, Venue.id)
    if city_id:
        stmt = stmt.where(Venue.city_id == city_id)
    if q:
        stmt = stmt.where(or_(Venue.name.ilike(f"%{q}%"), Venue.address.ilike(f"%{q}%")))
    return paginate(stmt, page, per_page)


def venues_by_city(city_id: int) -> list[Venue]:
    get_or_404(City, city_id, "City")
    return list(
        db.session.scalars(select(Venue).where(Venue.city_id == city_id).order_by(Venue.name))
    )


def _require_city(city_id: int) -> None:
    if db.session.get(City, city_id) is None:
        raise ValidationFailed({"city_id": [f"No city {city_id}"]})


def create_venue(data: dict, actor: Actor) -> Venue:
    _require_city(data["city_id"])
    return _created(Venue(**data), "venue", actor)


def update_venue(venue_id: int, data: dict, actor: Actor) -> Venue:
    venue = get_or_404(Venue, venue_id, "Venue")
    before = snapshot(venue)
    if "city_id" in data and data["city_id"] != venue.city_id:
        _require_city(data["city_id"])
        if db.session.scalar(select(exists().where(Event.venue_id == venue_id))):
            raise Conflict("venue_in_use", "A venue with events cannot move to another city")
    _apply(venue, data)
    return _updated(venue, "venue", actor, before)


def delete_venue(venue_id: int, actor: Actor) -> None:
    venue = get_or_404(Venue, venue_id, "Venue", lock=True)
    _deleted(venue, "venue", actor, (Event.venue_id == venue_id, "venue_in_use",
                                     f"{venue.name} has events; move or delete them first"))


# -- game templates --------------------------------------------------------------------------


def list_templates(page: int, per_page: int, category: str | None = None, q: str | None = None):
    stmt = select(GameTemplate).order_by(GameTemplate.name, GameTemplate.id)
    if category:
        stmt = stmt.where(GameTemplate.category == category.strip().lower())
    if q:
        stmt = stmt.where(GameTemplate.name.ilike(f"%{q}%"))
    return paginate(stmt, page, per_page)


def _normalise_template(data: dict) -> None:
    if data.get("category"):
        # Stored lower-case so the listing's category filter is a plain indexed equality.
        data["category"] = data["category"].strip().lower()
    if "name" in data:
        data["name"] = data["name"].strip()


def _check_template_name(name: str, exclude_id: int | None = None) -> None:
    stmt = select(GameTemplate.id).where(func.lower(GameTemplate.name) == name.lower())
    if exclude_id:
        stmt = stmt.where(GameTemplate.id != exclude_id)
    if db.session.scalar(stmt):
        raise Conflict("game_template_exists", f"A game named {name!r} already exists")


def create_template(data: dict, actor: Actor) -> GameTemplate:
    _normalise_template(data)
    _check_template_name(data["name"])
    return _created(GameTemplate(**data), "game_template", actor)


def update_template(template_id: int, data: dict, actor: Actor) -> GameTemplate:
    template = get_or_404(GameTemplate, template_id, "Game template")
    before = snapshot(template)
    _normalise_template(data)
    _apply(template, data)
    if template.min_age_months > template.max_age_months:
        raise ValidationFailed({"max_age_months": ["must be >= min_age_months"]})
    # A game that overrides one bound takes the other from here: it must not end up with no
    # age at all (min above max), which would silently stop its sales.
    inverted = db.session.scalars(
        select(EventGame.id)
        .join(Event, Event.id == EventGame.event_id)
        .where(
            # Past and cancelled events sell nothing any more: their old overrides may stay.
            Event.status.in_((EventStatus.DRAFT, EventStatus.PUBLISHED)),
            Event.event_date >= today_ist(),
            EventGame.game_template_id == template.id,
            func.coalesce(EventGame.min_age_months, template.min_age_months)
            > func.coalesce(EventGame.max_age_months, template.max_age_months),
        )
    ).all()
    if inverted:
        raise ValidationFailed({"max_age_months": [
            "Games using this template would have no age band left (their own minimum or "
            f"maximum age conflicts): games {', '.join(map(str, inverted))}"
        ]})
    _check_template_name(template.name, template.id)
    return _updated(template, "game_template", actor, before)


def delete_template(template_id: int, actor: Actor) -> None:
    template = get_or_404(GameTemplate, template_id, "Game template", lock=True)
    _deleted(template, "game_template", actor,
             (EventGame.game_template_id == template_id, "game_template_in_use",
              f"{template.name} is used by events; deactivate it instead"))


# -- event gallery and FAQs ------------------------------------------------------------------

_CHILD_MODELS = {"gallery": (EventGalleryImage, "Image"), "faqs": (EventFaq, "FAQ")}


def list_event_children(kind: str, event_id: int) -> list:
    model, _ = _CHILD_MODELS[kind]
    get_or_404(Event, event_id, "Event")
    return list(
        db.session.scalars(
            select(model).where(model.event_id == event_id).order_by(model.sort_order, model.id)
        )
    )


def create_event_child(kind: str, event_id: int, data: dict, actor: Actor):
    model, _ = _CHILD_MODELS[kind]
    get_or_404(Event, event_id, "Event")
    return _created(model(event_id=event_id, **data), f"event_{kind}", actor)


def _event_child(kind: str, event_id: int, obj_id: int):
    model, what = _CHILD_MODELS[kind]
    obj = db.session.get(model, obj_id)
    if obj is None or obj.event_id != event_id:
        raise NotFound(what)
    return obj


def update_event_child(kind: str, event_id: int, obj_id: int, data: dict, actor: Actor):
    obj = _event_child(kind, event_id, obj_id)
    before = snapshot(obj)
    _apply(obj, data)
    return _updated(obj, f"event_{kind}", actor, before)


def delete_event_child(kind: str, event_id: int, obj_id: int, actor: Actor) -> None:
    _deleted(_event_child(kind, event_id, obj_id), f"event_{kind}", actor)

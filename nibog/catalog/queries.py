"""Read-side SQL for the public catalog: listing filters, per-event summaries, detail loading.

Everything here reads through ``read_session()``: the replica when ``DATABASE_REPLICA_URL`` is set,
the primary otherwise. Nothing here writes, and the booking engine never uses it.

Effective values follow the contract: a slot's price is ``slot.price ?? game.price ??
template.default_price``; a game's ages are ``game ?? template``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask.globals import app_ctx
from sqlalchemy import and_, case, create_engine, exists, func, literal_column, or_, select
from sqlalchemy.orm import Session, joinedload, scoped_session, selectinload, sessionmaker

from nibog.booking.waitlist_queue import queued_for
from nibog.catalog.models import (
    AddOn,
    AddOnVariant,
    Event,
    EventFaq,
    EventGalleryImage,
    EventGame,
    GameSlot,
    GameTemplate,
    Review,
)
from nibog.config import normalise_database_url
from nibog.extensions import db

_REPLICA_KEY = "nibog_catalog_replica"


# -- sessions --------------------------------------------------------------------------------


def read_session() -> Session:
    """The session catalog reads use: a replica session if configured, else the primary's."""
    url = current_app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return db.session
    factory = current_app.extensions.get(_REPLICA_KEY)
    if factory is None:
        engine = create_engine(
            normalise_database_url(url),
            pool_pre_ping=True,
            pool_size=current_app.config.get("DB_POOL_SIZE", 10),
            max_overflow=current_app.config.get("DB_MAX_OVERFLOW", 10),
        )
        # Scoped like Flask-SQLAlchemy's own session: one per app context, removed on teardown.
        factory = scoped_session(
            sessionmaker(bind=engine, autoflush=False, expire_on_commit=False),
            scopefunc=lambda: id(app_ctx._get_current_object()),
        )
        current_app.extensions[_REPLICA_KEY] = factory
    return factory()


def close_read_session() -> None:
    factory = current_app.extensions.get(_REPLICA_KEY)
    if factory is not None:
        factory.remove()


def replica_engine():
    factory = current_app.extensions.get(_REPLICA_KEY)
    return factory.session_factory.kw["bind"] if factory is not None else None


# -- effective values ------------------------------------------------------------------------

eff_slot_price = func.coalesce(GameSlot.price, EventGame.price, GameTemplate.default_price)
eff_game_price = func.coalesce(EventGame.price, GameTemplate.default_price)
eff_min_age = func.coalesce(EventGame.min_age_months, GameTemplate.min_age_months)
eff_max_age = func.coalesce(EventGame.max_age_months, GameTemplate.max_age_months)
# CASE rather than greatest(): SQLite (the embedded default) has no greatest().
slot_seats_left = case(
    (
        and_(GameSlot.is_open, GameSlot.capacity > GameSlot.booked_count),
        GameSlot.capacity - GameSlot.booked_count,
    ),
    else_=0,
)


def _games_of_event(*cols):
    return (
        select(*cols)
        .select_from(EventGame)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
        .where(EventGame.event_id == Event.id)
    )


def _slots_of_event(*cols):
    return _games_of_event(*cols).join(GameSlot, GameSlot.event_game_id == EventGame.id)


# Correlated per-event summaries: portable (SQLite has no LATERAL) and, on PostgreSQL, each is an
# index scan on event_games.event_id / game_slots.event_game_id for the candidate rows only.
price_from_col = _slots_of_event(func.min(eff_slot_price)).scalar_subquery()
min_age_col = _games_of_event(func.min(eff_min_age)).scalar_subquery()
max_age_col = _games_of_event(func.max(eff_max_age)).scalar_subquery()
seats_left_col = (
    _slots_of_event(func.coalesce(func.sum(slot_seats_left), 0)).scalar_subquery()
)
seats_booked_col = (
    _slots_of_event(func.coalesce(func.sum(GameSlot.booked_count), 0)).scalar_subquery()
)

SORTS = ("date", "-date", "price", "popularity")


@dataclass
class EventFilters:
    city_id: int | None = None
    venue_id: int | None = None
    category: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    age_months: int | None = None
    min_price: int | None = None
    max_price: int | None = None
    available: bool | None = None
    q: str | None = None
    featured: bool | None = None


def _search_terms(q: str) -> list[str]:
    return [t for t in re.split(r"[^\w]+", q.lower()) if t][:8]


def search_condition(q: str, dialect: str):
    terms = _search_terms(q)
    if not terms:
        return None
    if dialect == "postgresql":
        # Prefix match per word ("hyder" finds "Hyderabad"), served by the GIN index
        # ix_events_search (see docs/catalog-indexes.md); the expression must match it exactly.
        query = " & ".join(f"{t}:*" for t in terms)
        return search_vector().op("@@")(
            func.to_tsquery(literal_column("'simple'::regconfig"), query)
        )
    return and_(*[or_(Event.title.ilike(f"%{t}%"), Event.description.ilike(f"%{t}%")) for t in terms])


def search_vector():
    return func.to_tsvector(
        literal_column("'simple'::regconfig"),
        Event.title + literal_column("' '") + Event.description,
    )


def listing_conditions(f: EventFilters, dialect: str) -> list:
    conds = [Event.status == "published"]
    if f.city_id is not None:
        conds.append(Event.city_id == f.city_id)
    if f.venue_id is not None:
        conds.append(Event.venue_id == f.venue_id)
    if f.date_from is not None:
        conds.append(Event.event_date >= f.date_from)
    if f.date_to is not None:
        conds.append(Event.event_date <= f.date_to)
    if f.featured:
        conds.append(Event.is_featured.is_(True))
    if f.category:
        conds.append(
            # Categories are stored lower-case (admin writes normalise), so the plain index serves.
            exists(
                _games_of_event(literal_column("1")).where(
                    GameTemplate.category == f.category.strip().lower()
                )
            )
        )
    if f.age_months is not None:
        conds.append(
            exists(
                _games_of_event(literal_column("1")).where(
                    eff_min_age <= f.age_months, eff_max_age >= f.age_months
                )
            )
        )
    if f.min_price is not None:
        conds.append(price_from_col >= f.min_price)
    if f.max_price is not None:
        conds.append(price_from_col <= f.max_price)
    if f.available is True:
        conds.append(seats_left_col > 0)
    elif f.available is False:
        conds.append(seats_left_col == 0)
    if f.q:
        cond = search_condition(f.q, dialect)
        if cond is not None:
            conds.append(cond)
    return conds


def _order_by(sort: str) -> list:
    by_date = [Event.event_date.asc(), Event.start_time.asc(), Event.id.asc()]
    if sort == "-date":
        return [Event.event_date.desc(), Event.start_time.desc(), Event.id.desc()]
    if sort == "price":
        return [price_from_col.asc().nulls_last(), *by_date]
    if sort == "popularity":
        return [seats_booked_col.desc(), Event.bookings_count.desc(), *by_date]
    return by_date


def listing_statement(f: EventFilters, sort: str, dialect: str):
    """(count statement, page statement without limit) for the public listing."""
    conds = listing_conditions(f, dialect)
    count = select(func.count(Event.id)).where(*conds)
    rows = (
        select(Event, price_from_col, min_age_col, max_age_col, seats_left_col)
        .options(joinedload(Event.city), joinedload(Event.venue))
        .where(*conds)
        .order_by(*_order_by(sort))
    )
    return count, rows


def list_events(f: EventFilters, sort: str, page: int, per_page: int) -> tuple[list, int]:
    """One page of published events with their summaries: exactly two statements."""
    session = read_session()
    count, stmt = listing_statement(f, sort, session.get_bind().dialect.name)
    total = session.scalar(count) or 0
    rows = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return [tuple(r) for r in rows], total


# -- detail ----------------------------------------------------------------------------------


def load_event(
    event_id: int, *, include_drafts: bool = False, session: Session | None = None
) -> Event | None:
    session = session or read_session()
    stmt = (
        select(Event)
        .options(
            joinedload(Event.city),
            joinedload(Event.venue),
            selectinload(Event.games).selectinload(EventGame.slots),
        )
        .where(Event.id == event_id)
    )
    if not include_drafts:
        stmt = stmt.where(Event.status != "draft")
    return session.scalar(stmt)


def load_extras(event_id: int, session: Session | None = None) -> dict:
    """Gallery, FAQs, add-ons (with variants) and rating of one event: five statements."""
    session = session or read_session()
    gallery = session.scalars(
        select(EventGalleryImage)
        .where(EventGalleryImage.event_id == event_id)
        .order_by(EventGalleryImage.sort_order, EventGalleryImage.id)
    ).all()
    faqs = session.scalars(
        select(EventFaq).where(EventFaq.event_id == event_id).order_by(EventFaq.sort_order, EventFaq.id)
    ).all()
    addons = load_addons(event_id, session)
    avg, count = session.execute(
        select(func.avg(Review.rating), func.count(Review.id)).where(
            Review.event_id == event_id, Review.is_published.is_(True)
        )
    ).one()
    return {"gallery": gallery, "faqs": faqs, "addons": addons, "rating": (avg, count)}


def load_addons(event_id: int, session: Session | None = None) -> list[AddOn]:
    return list(
        (session or read_session()).scalars(
            select(AddOn)
            .options(selectinload(AddOn.variants))
            .where(AddOn.event_id == event_id, AddOn.is_active.is_(True))
            .order_by(AddOn.sort_order, AddOn.id)
        )
    )


def live_slot_counts(event_id: int) -> dict[int, tuple[int, int, bool, bool]]:
    """slot id → (capacity, booked_count, is_open, queued), straight from the database (one
    statement); ``queued``: children wait for it, so its free seats are theirs, not for sale."""
    rows = read_session().execute(
        select(GameSlot.id, GameSlot.capacity, GameSlot.booked_count, GameSlot.is_open,
               queued_for(GameSlot.id).label("queued"))
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .where(EventGame.event_id == event_id)
    )
    return {r.id: (r.capacity, r.booked_count, r.is_open, bool(r.queued)) for r in rows}


def queued_slot_ids(slot_ids: list[int]) -> set[int]:
    """The slots among these with children on their waiting list."""
    if not slot_ids:
        return set()
    return set(read_session().scalars(
        select(GameSlot.id).where(GameSlot.id.in_(slot_ids), queued_for(GameSlot.id))
    ))


def live_variant_stock(event_id: int) -> dict[int, int | None]:
    rows = read_session().execute(
        select(AddOnVariant.id, AddOnVariant.stock, AddOnVariant.sold_count)
        .join(AddOn, AddOn.id == AddOnVariant.addon_id)
        .where(AddOn.event_id == event_id)
    )
    return {r.id: (None if r.stock is None else max(0, r.stock - r.sold_count)) for r in rows}

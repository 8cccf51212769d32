"""Event status transitions, deletion, cloning and the admin event list.

draft → published → completed, and draft|published → cancelled. A published event without live
bookings may go back to draft. Cancelled and completed are final.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, exists, func, or_, select

from nibog.booking.models import LIVE_BOOKING_STATUSES, Booking
from nibog.catalog import queries as q
from nibog.catalog.admin_service import Actor, audit, unique_slug
from nibog.catalog.cache import invalidate_catalog
from nibog.catalog.event_rows import event_addons, event_snapshot, load_for_edit, lock_event
from nibog.catalog.models import (
    AddOn,
    AddOnVariant,
    Event,
    EventFaq,
    EventGame,
    EventStatus,
    GameSlot,
)
from nibog.catalog.presenters import event_item
from nibog.core import signals
from nibog.core.audit import snapshot
from nibog.core.errors import Conflict, ValidationFailed
from nibog.core.pagination import page_envelope
from nibog.core.timeutil import today_ist, utcnow
from nibog.extensions import db

TRANSITIONS = {
    EventStatus.DRAFT: {EventStatus.PUBLISHED, EventStatus.CANCELLED},
    EventStatus.PUBLISHED: {EventStatus.COMPLETED, EventStatus.CANCELLED, EventStatus.DRAFT},
    EventStatus.CANCELLED: set(),
    EventStatus.COMPLETED: set(),
}


def _live_bookings(event_id: int) -> int:
    return db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.event_id == event_id, Booking.status.in_(LIVE_BOOKING_STATUSES)
        )
    ) or 0


def check_publishable(event_id: int) -> None:
    has_slot = db.session.scalar(
        select(
            exists()
            .where(EventGame.event_id == event_id)
            .where(GameSlot.event_game_id == EventGame.id)
        )
    )
    if not has_slot:
        raise ValidationFailed(
            {"games": ["Add at least one game with a slot before publishing"]},
            "The event has nothing to book yet",
        )


def transition(event: Event, new_status: str, actor: Actor, *, audit_it: bool = True) -> Event:
    """Move an event to ``new_status``; side effects run after the commit through the queue."""
    old = event.status
    if new_status == old:
        return event
    if new_status not in TRANSITIONS.get(old, set()):
        raise Conflict(
            "invalid_status_transition", f"An event cannot go from {old} to {new_status}",
            {"from": old, "to": new_status},
        )
    before = snapshot(event) if audit_it else None
    now = utcnow()
    if new_status == EventStatus.PUBLISHED:
        check_publishable(event.id)
        event.published_at = now
    elif new_status == EventStatus.DRAFT:
        if _live_bookings(event.id):
            raise Conflict("event_has_bookings", "An event with live bookings cannot be unpublished")
    elif new_status == EventStatus.COMPLETED:
        if event.event_date > today_ist():
            raise Conflict(
                "invalid_status_transition",
                f"An event can be completed on or after its date ({event.event_date})",
                {"from": old, "to": new_status},
            )
        event.completed_at = now
    elif new_status == EventStatus.CANCELLED:
        event.cancelled_at = now
    event.status = new_status
    db.session.flush()
    if new_status in (EventStatus.CANCELLED, EventStatus.COMPLETED):
        # Cancelled: every live booking is cancelled and refunded, in a job after this commit.
        # Completed: the bookings become completed, certificates are made after the commit.
        signals.announce_event_ended(event.id, status=new_status, actor_id=actor.id)
    if audit_it:
        audit(f"event.{new_status}", event, actor, before)
    invalidate_catalog()
    return event


def change_status(event_id: int, new_status: str, actor: Actor) -> Event:
    event = lock_event(event_id)
    return transition(event, new_status, actor)


def delete_event(event_id: int, actor: Actor) -> None:
    slot_ids = db.session.scalars(
        select(GameSlot.id).join(EventGame).where(EventGame.event_id == event_id)
    ).all()
    event = lock_event(event_id, list(slot_ids))  # the cascade deletes these slots
    live = _live_bookings(event_id)
    if live:
        raise Conflict(
            "event_has_bookings",
            f"{event.title} has {live} live booking(s); cancel the event instead",
            {"live_bookings": live},
        )
    if db.session.scalar(select(exists().where(Booking.event_id == event_id))):
        raise Conflict(
            "event_has_bookings",
            f"{event.title} has booking history; cancel it instead of deleting it",
            {"live_bookings": 0},
        )
    before = event_snapshot(event)
    db.session.execute(delete(Event).where(Event.id == event_id))  # games, slots… cascade
    for game in event.games:
        for slot in game.slots:
            db.session.expunge(slot)
        db.session.expunge(game)
    db.session.expunge(event)
    audit("event.delete", None, actor, before, entity_type="events", entity_id=event_id)
    invalidate_catalog()


def clone_event(event_id: int, event_date: date, actor: Actor, title: str | None = None) -> Event:
    """Copy games, slots, add-ons and FAQs to a new date as a draft; nothing sold is copied."""
    source = load_for_edit(event_id)
    shift = timedelta(days=(event_date - source.event_date).days)
    copy = Event(
        title=title or source.title,
        slug=unique_slug(Event, title or source.title, 220),
        description=source.description,
        city_id=source.city_id,
        venue_id=source.venue_id,
        event_date=event_date,
        start_time=source.start_time,
        end_time=source.end_time,
        status=EventStatus.DRAFT,
        is_featured=source.is_featured,
        image_url=source.image_url,
        registration_opens_at=source.registration_opens_at + shift
        if source.registration_opens_at else None,
        registration_closes_at=source.registration_closes_at + shift
        if source.registration_closes_at else None,
        certificate_template=source.certificate_template,
        created_by_id=actor.id,
    )
    db.session.add(copy)
    db.session.flush()
    for game in source.games:
        new_game = EventGame(
            event_id=copy.id, game_template_id=game.game_template_id, price=game.price,
            min_age_months=game.min_age_months, max_age_months=game.max_age_months,
            sort_order=game.sort_order,
        )
        db.session.add(new_game)
        db.session.flush()
        for slot in game.slots:
            db.session.add(GameSlot(
                event_game_id=new_game.id, start_time=slot.start_time, end_time=slot.end_time,
                capacity=slot.capacity, price=slot.price, is_open=slot.is_open, booked_count=0,
            ))
    for addon in event_addons(source.id):
        new_addon = AddOn(
            event_id=copy.id, name=addon.name, description=addon.description, price=addon.price,
            is_active=addon.is_active, sort_order=addon.sort_order,
        )
        db.session.add(new_addon)
        db.session.flush()
        for v in addon.variants:
            db.session.add(AddOnVariant(
                addon_id=new_addon.id, name=v.name, price=v.price, stock=v.stock,
                is_active=v.is_active, sold_count=0,
            ))
    for faq in db.session.scalars(select(EventFaq).where(EventFaq.event_id == source.id)):
        db.session.add(EventFaq(
            event_id=copy.id, question=faq.question, answer=faq.answer, sort_order=faq.sort_order
        ))
    db.session.flush()
    audit("event.clone", copy, actor, None, after={**snapshot(copy), "cloned_from": source.id})
    invalidate_catalog()
    return copy


def admin_list_events(args: dict, page: int, per_page: int) -> dict:
    """Every status, newest date first, with the same summaries as the public listing."""
    conds = []
    for key, col in (("status", Event.status), ("city_id", Event.city_id),
                     ("venue_id", Event.venue_id)):
        if args.get(key) is not None:
            conds.append(col == args[key])
    if args.get("date_from"):
        conds.append(Event.event_date >= args["date_from"])
    if args.get("date_to"):
        conds.append(Event.event_date <= args["date_to"])
    if args.get("q"):
        conds.append(or_(Event.title.ilike(f"%{args['q']}%"), Event.slug.ilike(f"%{args['q']}%")))
    total = db.session.scalar(select(func.count(Event.id)).where(*conds)) or 0
    from sqlalchemy.orm import joinedload


    rows = db.session.execute(
        select(Event, q.price_from_col, q.min_age_col, q.max_age_col, q.seats_left_col)
        .options(joinedload(Event.city), joinedload(Event.venue))
        .where(*conds)
        .order_by(Event.event_date.desc(), Event.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return page_envelope([event_item(*row) for row in rows], page, per_page, total)


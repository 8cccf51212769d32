"""Admin event writes: create with nested games, slots and add-ons; incremental edits.

Incremental edit rules (``PUT /api/admin/events/{id}``): top-level fields are changed only when
sent; in ``games``/``slots``/``addons``/``variants`` an entry with ``id`` changes that row, one
without ``id`` adds a row, and ``"_delete": true`` removes it. Rows not mentioned stay as they are.

Seat safety: a slot's capacity is changed under a row lock (the booking engine takes the same lock),
and never below its booked seats (409). Raising it offers the freed seats to the waiting list.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from nibog.booking.models import BookingItem
from nibog.catalog.addon_admin import edit_addons
from nibog.catalog.admin_service import Actor, audit, unique_slug
from nibog.catalog.cache import invalidate_catalog
from nibog.catalog.event_lifecycle import check_publishable, transition
from nibog.catalog.event_rows import (  # noqa: F401 - the names admin faces import from here
    add_addon,
    event_addons,
    event_snapshot,
    load_for_edit,
    lock_event,
    nested_edits,
    remove_with_children,
    writable_fields,
)
from nibog.catalog.models import (
    City,
    Event,
    EventGame,
    GameSlot,
    GameTemplate,
    Venue,
)
from nibog.core import locking, signals
from nibog.core.errors import Conflict, ValidationFailed
from nibog.core.timeutil import utcnow
from nibog.extensions import db

# Test-only switches for the capacity race control (tests/catalog/test_capacity_race.py):

EVENT_FIELDS = (
    "title", "city_id", "venue_id", "event_date", "start_time", "end_time", "description",
    "is_featured", "image_url", "registration_opens_at", "registration_closes_at",
    "certificate_template",
)


# -- validation ------------------------------------------------------------------------------


def _check_place(city_id: int, venue_id: int) -> None:
    if db.session.get(City, city_id) is None:
        raise ValidationFailed({"city_id": [f"No city {city_id}"]})
    venue = db.session.get(Venue, venue_id)
    if venue is None:
        raise ValidationFailed({"venue_id": [f"No venue {venue_id}"]})
    if venue.city_id != city_id:
        raise ValidationFailed({"venue_id": [f"Venue {venue_id} is not in city {city_id}"]})


def _check_event(event: Event) -> None:
    if event.start_time >= event.end_time:
        raise ValidationFailed({"end_time": ["must be after start_time"]})
    opens, closes = event.registration_opens_at, event.registration_closes_at
    if opens is not None and closes is not None and opens >= closes:
        raise ValidationFailed({"registration_closes_at": ["must be after registration_opens_at"]})


def _template(template_id: int) -> GameTemplate:
    template = db.session.get(GameTemplate, template_id)
    if template is None:
        raise ValidationFailed({"games": [f"No game template {template_id}"]})
    return template


def _check_game(game: EventGame, template: GameTemplate) -> None:
    lo = game.min_age_months if game.min_age_months is not None else template.min_age_months
    hi = game.max_age_months if game.max_age_months is not None else template.max_age_months
    if lo > hi:
        raise ValidationFailed({"games": [f"{template.name}: min_age_months is above max_age_months"]})


def _check_slot(slot: GameSlot, game: EventGame, template: GameTemplate) -> None:
    if slot.start_time >= slot.end_time:
        raise ValidationFailed({"slots": [f"{template.name}: slot end_time must be after start_time"]})
    if slot.price is None and game.price is None and template.default_price is None:
        # Without any price the booking engine could not charge: refuse here, not at checkout.
        raise ValidationFailed(
            {"slots": [f"{template.name}: give the slot or game a price (the template has none)"]}
        )


# -- create ----------------------------------------------------------------------------------


def _add_slot(game: EventGame, template: GameTemplate, data: dict) -> GameSlot:
    # An edit's slot entries make times and capacity optional (they may change a slot that
    # has them); a new slot needs all three, wherever it comes from.
    missing = [f for f in ("start_time", "end_time", "capacity") if data.get(f) is None]
    if missing:
        raise ValidationFailed({"slots": [f"A new slot needs {', '.join(missing)}"]})
    slot = GameSlot(event_game_id=game.id, **writable_fields(data))
    _check_slot(slot, game, template)
    db.session.add(slot)
    return slot


def _add_game(event: Event, data: dict) -> EventGame:
    slots = data.pop("slots", None) or []
    template = _template(data["game_template_id"])
    game = EventGame(event_id=event.id, **writable_fields(data))
    _check_game(game, template)
    db.session.add(game)
    db.session.flush()
    for slot_data in slots:
        if not slot_data.get("delete"):  # "delete" on a row that does not exist yet: nothing
            _add_slot(game, template, dict(slot_data))
    return game


def create_event(data: dict, actor: Actor) -> Event:
    games, addons = data.pop("games", []), data.pop("addons", [])
    status = data.pop("status", "draft")
    _check_place(data["city_id"], data["venue_id"])
    event = Event(
        **{k: v for k, v in data.items() if k in EVENT_FIELDS},
        slug=unique_slug(Event, data["title"], 220),
        status="draft",
        created_by_id=actor.id,
    )
    _check_event(event)
    db.session.add(event)
    db.session.flush()
    for game in games:
        _add_game(event, dict(game))
    for addon in addons:
        add_addon(event, dict(addon))
    db.session.flush()
    if status == "published":
        check_publishable(event.id)
        event.status = "published"
        event.published_at = utcnow()
    db.session.flush()
    audit("event.create", event, actor, None, after=event_snapshot(load_for_edit(event.id)))
    invalidate_catalog()
    return event


# -- incremental update ----------------------------------------------------------------------


def _has_items(slot_ids: list[int]) -> bool:
    if not slot_ids:
        return False
    return bool(db.session.scalar(select(exists().where(BookingItem.slot_id.in_(slot_ids)))))


def _touched_slot_ids(event_id: int, games: list[dict]) -> list[int]:
    """Slots an edit changes or deletes, including those of deleted games."""
    ids = [e["id"] for g in games for e in g.get("slots") or [] if e.get("id")]
    dropped_games = [g["id"] for g in games if g.get("id") and g.get("delete")]
    if dropped_games:
        ids += db.session.scalars(
            select(GameSlot.id)
            .join(EventGame, EventGame.id == GameSlot.event_game_id)
            .where(EventGame.id.in_(dropped_games), EventGame.event_id == event_id)
        ).all()
    return ids


def _change_capacity(slot: GameSlot, capacity: int) -> None:
    # booked_count moves with every booking: read it fresh, under the lock.
    stmt = select(GameSlot).where(GameSlot.id == slot.id)
    # The lock is already held (lock_event): this re-reads fresh values.
    locked = db.session.scalar(locking.for_update(stmt).execution_options(populate_existing=True))
    locking.pause("capacity_read")
    if capacity < locked.booked_count:
        raise Conflict(
            "capacity_below_booked",
            f"Slot {slot.id} has {locked.booked_count} seats booked; capacity cannot go below that",
            {"slot_id": slot.id, "booked_count": locked.booked_count, "capacity": capacity},
        )
    if capacity > locked.capacity:
        signals.announce_seats_freed([slot.id])
    locked.capacity = capacity


def _edit_slots(game: EventGame, template: GameTemplate, entries: list[dict]) -> None:
    for slot, entry, remove in nested_edits(entries, game.slots, "slots", "Slot",
                                            f"game {game.id}"):
        if slot is None:
            _add_slot(game, template, entry)
            continue
        if remove:
            if _has_items([slot.id]):
                raise Conflict(
                    "slot_has_bookings",
                    f"Slot {slot.id} has bookings; close it (is_open: false) instead",
                    {"slot_id": slot.id},
                )
            db.session.delete(slot)
            continue
        if "capacity" in entry:
            _change_capacity(slot, entry.pop("capacity"))
        if entry.get("is_open") is True and not slot.is_open:
            # Seats freed while it was closed were not offered (the round stops at a closed
            # slot): the waiting list gets them now.
            signals.announce_seats_freed([slot.id])
        for key, value in entry.items():
            setattr(slot, key, value)
        _check_slot(slot, game, template)


def _edit_games(event: Event, entries: list[dict]) -> None:
    for game, entry, remove in nested_edits(entries, event.games, "games", "Game",
                                            f"event {event.id}"):
        if game is None:
            if "game_template_id" not in entry:
                raise ValidationFailed({"games": ["A new game needs game_template_id"]})
            _add_game(event, entry)
            continue
        if remove:
            if _has_items([s.id for s in game.slots]):
                raise Conflict(
                    "game_has_bookings", f"Game {game.id} has bookings; it cannot be removed",
                    {"event_game_id": game.id},
                )
            remove_with_children(game, list(game.slots))
            db.session.expire(event, ["games"])
            continue
        slots = entry.pop("slots", None)
        for key, value in entry.items():
            setattr(game, key, value)
        template = _template(game.game_template_id)
        _check_game(game, template)
        if slots:
            _edit_slots(game, template, slots)
        else:
            for slot in game.slots:  # a game price change may leave a slot without any price
                _check_slot(slot, game, template)


def update_event(event_id: int, data: dict, actor: Actor) -> Event:
    new_status = data.pop("status", None)
    games, addons = data.pop("games", None), data.pop("addons", None)
    event = lock_event(event_id, _touched_slot_ids(event_id, games or []))
    before = event_snapshot(event)
    for key, value in data.items():
        setattr(event, key, value)
    if "city_id" in data or "venue_id" in data:
        _check_place(event.city_id, event.venue_id)
    _check_event(event)
    if games:
        _edit_games(event, games)
    if addons:
        edit_addons(event, addons)
    db.session.flush()
    if new_status is not None and new_status != event.status:
        transition(event, new_status, actor, audit_it=False)
    db.session.flush()
    db.session.expire_all()
    audit("event.update", event, actor, before, after=event_snapshot(load_for_edit(event_id)))
    invalidate_catalog()
    return event


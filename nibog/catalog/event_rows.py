"""An event's rows for the admin writes: load (and lock) it with its games and slots, its add-ons,
the audit snapshot, and the row helpers the event and add-on edits share. Below
``event_admin``, ``event_lifecycle`` and ``addon_admin``, which all build on it.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from nibog.catalog.models import AddOn, AddOnVariant, Event, EventGame, GameSlot
from nibog.core import locking
from nibog.core.audit import snapshot
from nibog.core.errors import NotFound, ValidationFailed
from nibog.extensions import db


def load_for_edit(event_id: int, *, lock: bool = False) -> Event:
    stmt = (
        select(Event)
        .options(selectinload(Event.games).selectinload(EventGame.slots))
        .where(Event.id == event_id)
    )
    if lock and locking.guards.lock_rows:
        # NO KEY UPDATE: serialises admin edits of this event; the booking engine's INSERTs
        # (KEY SHARE) pass, its bookings_count UPDATE waits. Callers lock slots *before* this
        # (``lock_event``), the order the booking engine uses, so the two cannot deadlock.
        stmt = stmt.with_for_update(of=Event, key_share=True)
    event = db.session.scalar(stmt)
    if event is None:
        raise NotFound("Event")
    return event


def event_addons(event_id: int) -> list[AddOn]:
    return list(
        db.session.scalars(
            select(AddOn)
            .options(selectinload(AddOn.variants))
            .where(AddOn.event_id == event_id)
            .order_by(AddOn.sort_order, AddOn.id)
        )
    )


def event_snapshot(event: Event) -> dict:
    """The event with its games, slots, add-ons and variants, for the audit log."""
    return {
        **snapshot(event),
        "games": [
            {**snapshot(g), "slots": [snapshot(s) for s in g.slots]} for g in event.games
        ],
        "addons": [
            {**snapshot(a), "variants": [snapshot(v) for v in a.variants]}
            for a in event_addons(event.id)
        ],
    }


def writable_fields(data: dict) -> dict:
    """Drop the edit markers (``id``/``_delete``) an entry for a new row may carry."""
    return {k: v for k, v in data.items() if k not in ("id", "delete")}


def nested_edits(entries: list[dict], existing, field: str, label: str, parent: str):
    """The edits of a nested list (games, slots, add-ons, variants), one ``(row, entry,
    remove)`` at a time: ``row`` None for a new one (an entry without ``id``; a new one
    marked ``delete`` is skipped), ``entry`` without its ``id``/``delete`` markers. An ``id``
    that is not among ``existing`` is refused: "<label> <id> is not part of <parent>"."""
    by_id = {row.id: row for row in existing}
    for entry in entries:
        entry = dict(entry)
        row_id, remove = entry.pop("id", None), entry.pop("delete", False)
        if row_id is None:
            if not remove:
                yield None, entry, False
            continue
        row = by_id.get(row_id)
        if row is None:
            raise ValidationFailed({field: [f"{label} {row_id} is not part of {parent}"]})
        yield row, entry, remove


def add_addon(event: Event, data: dict) -> AddOn:
    variants = data.pop("variants", None) or []
    addon = AddOn(event_id=event.id, **writable_fields(data))
    db.session.add(addon)
    db.session.flush()
    for variant in variants:
        db.session.add(AddOnVariant(addon_id=addon.id, **writable_fields(variant)))
    return addon


def remove_with_children(obj, children: list) -> None:
    """Delete one row and let the database cascade to its children.

    The ORM would instead null the children's NOT NULL foreign keys (the relationships have no
    delete cascade), so delete in SQL and drop the objects from the session.
    """
    db.session.flush()
    model = type(obj)
    db.session.execute(delete(model).where(model.id == obj.id))
    for child in children:
        db.session.expunge(child)
    db.session.expunge(obj)


def lock_event(event_id: int, slot_ids: list[int] | None = None) -> Event:
    """Lock the slots an edit will touch (ascending id, like the booking engine), then the event.

    The booking engine locks slots and then updates the event row; taking them in the same order
    here means an admin edit and a booking wait for each other instead of deadlocking.
    """
    if slot_ids and locking.guards.lock_rows:
        db.session.execute(
            select(GameSlot.id)
            .where(GameSlot.id.in_(sorted(set(slot_ids))))
            .order_by(GameSlot.id)
            .with_for_update()
        )
    return load_for_edit(event_id, lock=True)

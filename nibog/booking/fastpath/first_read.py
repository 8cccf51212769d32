"""What a new hold reads before it locks anything, in one plain (Core) query.

The event, its venue, the requested slots of the event with their games and templates, those
slots' committed counts and whether anyone is waiting for them, the owner's requested children
with the owner's e-mail address, and which of those children already hold a live seat in which
of those slots (the booking that holds it).
Loading the same rows as ORM entities cost about twice the CPU of the query itself (entity
loading, the ORM's execution path), and a hold only reads these values: the slots it changes
are locked and turned into session objects afterwards (``holds.lock_slots``).

Each part comes back as a read-only view carrying the model's attribute names, so the rules and
prices (eligibility, pricing, promos) and the answer take it like the model object.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import and_, bindparam, inspect, select

from nibog.accounts.models import Child, User
from nibog.booking.models import BookingItem
from nibog.booking.waitlist_queue import queued_for
from nibog.catalog.models import Event, EventGame, GameSlot, GameTemplate, Venue
from nibog.extensions import db

# (part, model, attributes read by a hold)
_PARTS = (
    ("event", Event, ("id", "title", "event_date", "start_time", "end_time", "status",
                      "registration_opens_at", "registration_closes_at")),
    ("venue", Venue, ("id", "name")),
    ("slot", GameSlot, ("id", "event_game_id", "start_time", "end_time", "capacity",
                        "booked_count", "price", "is_open")),
    ("game", EventGame, ("id", "event_id", "game_template_id", "price", "min_age_months",
                         "max_age_months")),
    ("template", GameTemplate, ("id", "name", "default_price", "min_age_months",
                                "max_age_months")),
    ("child", Child, ("id", "user_id", "full_name", "date_of_birth")),
)


def _column(model, attr: str):
    return inspect(model).get_property(attr).columns[0]


def _layout() -> dict[str, tuple[int, tuple[str, ...]]]:
    """part -> (index of its first column in a row, attribute names)."""
    out, start = {}, 0
    for part, _model, attrs in _PARTS:
        out[part] = (start, attrs)
        start += len(attrs)
    return out


_LAYOUT = _layout()
_OWNER_EMAIL = sum(len(attrs) for _, _, attrs in _PARTS)
_QUEUED = _OWNER_EMAIL + 1
_HOLDER = _QUEUED + 1

_e, _v, _s, _g, _t, _c, _u, _i = (
    m.__table__ for m in (Event, Venue, GameSlot, EventGame, GameTemplate, Child, User, BookingItem)
)
# The live booking item of this row's child in this row's slot (at most one: a partial unique
# index), i.e. the booking a repeated request would duplicate.
_HOLDING_BOOKING = (
    select(_i.c.booking_id)
    .where(_i.c.is_live.is_(True), _i.c.child_id == _c.c.id, _i.c.slot_id == _s.c.id)
    .limit(1)
    .scalar_subquery()
)
_READ = (
    select(
        *[_column(model, attr) for _part, model, attrs in _PARTS for attr in attrs],
        _u.c.email,
        queued_for(_s.c.id).label("queued"),
        _HOLDING_BOOKING.label("holder"),
    )
    .select_from(_e)
    .join(_g, _g.c.event_id == _e.c.id)
    .join(_s, _s.c.event_game_id == _g.c.id)
    .join(_t, _t.c.id == _g.c.game_template_id)
    .outerjoin(_v, _v.c.id == _e.c.venue_id)
    # A row without a matching child carries none (NULL columns).
    .outerjoin(_c, and_(
        _c.c.id.in_(bindparam("child_ids", expanding=True)),
        _c.c.user_id == bindparam("owner_id"),
        _c.c.deleted_at.is_(None),
    ))
    .outerjoin(_u, _u.c.id == _c.c.user_id)
    .where(_e.c.id == bindparam("event_id"))
    .where(_s.c.id.in_(bindparam("slot_ids", expanding=True)))
    # Planning the seven-table join cost PostgreSQL four times its execution (core/prepared.py).
    .execution_options(prepare=True)
)


@dataclass
class HoldReads:
    event: SimpleNamespace
    venue: SimpleNamespace | None
    slots: dict[int, tuple]  # slot id -> (slot, event game, template)
    counts: dict[int, tuple[int, int]]  # slot id -> committed (booked, capacity)
    queued: set[int]  # slot ids with children on their waiting list
    children: dict[int, SimpleNamespace]  # the owner's, not deleted, among those requested
    owner_email: str | None
    # (child id, slot id) -> booking id, for the requested pairs already holding a live seat
    # when this was read (a hold commits after it: the unique index on live items catches that)
    holders: dict[tuple[int, int], int]


def _view(row, part: str) -> SimpleNamespace | None:
    start, attrs = _LAYOUT[part]
    if row[start] is None:  # an outer join without a match
        return None
    return SimpleNamespace(**dict(zip(attrs, row[start:start + len(attrs)], strict=True)))


def read(event_id: int, slot_ids: list[int], child_ids: list[int],
         owner_id: int | None) -> HoldReads | None:
    """None when no requested slot belongs to the event (or the event does not exist)."""
    rows = db.session.execute(_READ, {
        "event_id": event_id, "slot_ids": slot_ids, "child_ids": child_ids, "owner_id": owner_id,
    }).all()
    if not rows:
        return None
    first = rows[0]
    slots, counts, queued, children, owner_email, holders = {}, {}, set(), {}, None, {}
    for row in rows:
        slot_id = row[_LAYOUT["slot"][0]]
        if slot_id not in slots:
            slot = _view(row, "slot")
            slots[slot_id] = (slot, _view(row, "game"), _view(row, "template"))
            counts[slot_id] = (slot.booked_count, slot.capacity)
            if row[_QUEUED]:
                queued.add(slot_id)
        child_id = row[_LAYOUT["child"][0]]
        if child_id is not None and child_id not in children:
            children[child_id] = _view(row, "child")
            owner_email = row[_OWNER_EMAIL]
        if row[_HOLDER] is not None:
            holders[(child_id, slot_id)] = row[_HOLDER]
    return HoldReads(_view(first, "event"), _view(first, "venue"), slots, counts, queued,
                     children, owner_email, holders)

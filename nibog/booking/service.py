"""The booking engine's entry points, shared by the API, the site, the admin, webhooks and jobs.

``create_booking`` validates everything it can without locks, then runs the short locked part:
slot rows by id (seats, duplicates), the promo row (uses), add-on variants by id (stock), the
rows of the booking. Services only flush; the caller's boundary commits, and notifications are
queued so they leave only after that commit. Status changes live in ``lifecycle`` and are
re-exported here under the names other features import.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload, load_only

from nibog.accounts.models import Child
from nibog.booking import hold_reads, holds, promos
from nibog.booking.eligibility import ensure_registration_open, ineligibility
from nibog.booking.guests import (  # noqa: F401 - guest bookings through the same engine
    attach_guest_bookings,
    create_guest_booking,
    find_guest_booking,
)
from nibog.booking.lifecycle import (  # noqa: F401 - the agreed import path for other features
    SeatsNoLongerAvailable,
    cancel_booking,
    complete_event,
    confirm_booking,
    expire_holds,
    notify_status,
    refund_amount_for,
    release_unpaid_holds_for_user,
)
from nibog.booking.models import BOOKING_SOURCES, Booking, BookingAddon, BookingItem
from nibog.booking.numbers import new_booking_number
from nibog.booking.pricing import addon_unit_price, item_price
from nibog.booking.serialize import Written, keep_for_answer
from nibog.booking.tasks import seats_changed
from nibog.catalog.models import (
    AddOn,
    AddOnVariant,
    Event,
    EventGame,
    GameSlot,
    GameTemplate,
    Venue,
)
from nibog.core import rows
from nibog.core.errors import AppError, NotFound, ValidationFailed
from nibog.core.money import CURRENCY
from nibog.core.timeutil import today_ist, utcnow
from nibog.extensions import db

MAX_ITEMS = 20
MAX_ADDON_QUANTITY = 20
NUMBER_ATTEMPTS = 5


@dataclass
class Line:
    child: Child | None  # None only in a promo preview priced before children are chosen
    slot: GameSlot
    event_game: EventGame
    template: GameTemplate
    price: int


@dataclass
class AddonLine:
    addon: AddOn
    variant: AddOnVariant | None
    quantity: int
    unit_price: int

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@dataclass
class Quote:
    event: Event
    lines: list[Line]
    addon_lines: list[AddonLine]
    subtotal: int
    discount: int
    promo_id: int | None

    @property
    def total(self) -> int:
        return self.subtotal - self.discount


def get_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound("Event")
    return event


def _int_field(row: dict, name: str, where: str) -> int:
    value = row.get(name) if isinstance(row, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed({where: [f"{name} must be an integer"]})
    return value


# The booking path's reads, built once (building a statement costs about as much CPU as running
# a small one).
_SLOTS_WITH_GAMES = (
    select(GameSlot, EventGame, GameTemplate)
    .join(EventGame, EventGame.id == GameSlot.event_game_id)
    .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
    .where(GameSlot.id.in_(bindparam("slot_ids", expanding=True)))
)
_OWN_CHILDREN = (
    select(Child)
    .where(
        Child.id.in_(bindparam("child_ids", expanding=True)),
        Child.user_id == bindparam("owner_id"),
        Child.deleted_at.is_(None),
    )
    # What eligibility and the answer read; any other column is loaded if asked.
    .options(load_only(Child.id, Child.user_id, Child.full_name, Child.date_of_birth),
             lazyload(Child.parent))
)
_EVENT_WITH_VENUE = (
    select(Event, Venue)
    .outerjoin(Venue, Venue.id == Event.venue_id)
    .where(Event.id == bindparam("event_id"))
)


def _load_slots(
    event: Event, slot_ids: list[int], loaded: dict[int, tuple] | None = None
) -> dict[int, tuple]:
    """slot id -> (slot, event game, template); 422 when a slot is not part of this event.

    ``loaded``: this event's slots already read for these ids (``_event_with_slots``).
    """
    if loaded is None:
        rows = db.session.execute(_SLOTS_WITH_GAMES, {"slot_ids": sorted(set(slot_ids))}).all()
        loaded = {slot.id: (slot, eg, tpl) for slot, eg, tpl in rows if eg.event_id == event.id}
    slots = {sid: loaded[sid] for sid in slot_ids if sid in loaded}
    foreign = sorted(set(slot_ids) - slots.keys())
    if foreign:
        raise ValidationFailed(
            {"items": [f"Slot {s} is not part of this event" for s in foreign]},
            "Some slots do not belong to this event",
        )
    return slots


def resolve_lines(
    event: Event, items: list[dict], owner_id: int | None, *, with_children: bool = True,
    slots: dict[int, tuple] | None = None, children: dict[int, Child] | None = None,
) -> list[Line]:
    """Children (the owner's, not deleted), slots (of this event), prices and eligibility.

    ``with_children=False`` prices the slots only (a promo preview before children are known).
    ``slots`` and ``children``: already read for these items (``_event_with_slots``).
    """
    if not items:
        raise ValidationFailed({"items": ["Choose at least one game slot"]})
    if len(items) > MAX_ITEMS:
        raise ValidationFailed({"items": [f"At most {MAX_ITEMS} items per booking"]})
    if not with_children:
        slot_ids = [_int_field(i, "slot_id", "items") for i in items]
        slots = _load_slots(event, slot_ids, slots)
        return [Line(None, *slots[sid], item_price(*slots[sid])) for sid in slot_ids]
    pairs = [(_int_field(i, "child_id", "items"), _int_field(i, "slot_id", "items")) for i in items]
    if len(set(pairs)) != len(pairs):
        raise holds.already_booked([p for p in pairs if pairs.count(p) > 1])
    child_ids = {c for c, _ in pairs}
    if children is None:
        children = {
            c.id: c
            for c in db.session.scalars(
                _OWN_CHILDREN, {"child_ids": sorted(child_ids), "owner_id": owner_id}
            )
        } if owner_id is not None else {}
    missing = sorted(child_ids - children.keys())
    if missing:
        raise AppError("not_found", "Child not found", 404, {"child_ids": missing})
    slots = _load_slots(event, [s for _, s in pairs], slots)
    lines, refused = [], []
    for child_id, slot_id in pairs:
        slot, eg, tpl = slots[slot_id]
        child = children[child_id]
        reason = ineligibility(child, event, eg, tpl)
        if reason:
            refused.append({**reason, "slot_id": slot_id})
        lines.append(Line(child, slot, eg, tpl, item_price(slot, eg, tpl)))
    if refused:
        raise AppError(
            "child_not_eligible",
            "A child's age on the event date is outside the game's age band",
            422,
            {"items": refused},
        )
    return lines


def resolve_addons(event: Event, addons: list[dict] | None) -> list[AddonLine]:
    merged: Counter = Counter()
    for row in addons or []:
        addon_id = _int_field(row, "addon_id", "addons")
        variant_id = row.get("variant_id")
        if variant_id is not None:
            variant_id = _int_field(row, "variant_id", "addons")
        quantity = _int_field(row, "quantity", "addons") if "quantity" in row else 1
        if not 1 <= quantity <= MAX_ADDON_QUANTITY:
            raise ValidationFailed({"addons": [f"quantity must be 1-{MAX_ADDON_QUANTITY}"]})
        merged[(addon_id, variant_id)] += quantity
    if not merged:
        return []
    found = {
        a.id: a
        for a in db.session.scalars(
            select(AddOn).where(
                AddOn.id.in_({a for a, _ in merged}), AddOn.event_id == event.id, AddOn.is_active
            )
        )
    }
    variants: dict[int, list[AddOnVariant]] = {}
    for v in db.session.scalars(
        select(AddOnVariant).where(AddOnVariant.addon_id.in_(found), AddOnVariant.is_active)
    ):
        variants.setdefault(v.addon_id, []).append(v)
    out = []
    for (addon_id, variant_id), quantity in merged.items():
        addon = found.get(addon_id)
        if addon is None:
            raise ValidationFailed({"addons": [f"Add-on {addon_id} is not offered for this event"]})
        options = {v.id: v for v in variants.get(addon_id, [])}
        if variant_id is None and options:
            raise ValidationFailed({"addons": [f"Choose a variant of {addon.name}"]})
        if variant_id is not None and variant_id not in options:
            raise ValidationFailed({"addons": [f"Variant {variant_id} is not offered for {addon.name}"]})
        variant = options.get(variant_id) if variant_id is not None else None
        out.append(AddonLine(addon, variant, quantity, addon_unit_price(addon, variant)))
    return out


def quote(
    *, event: Event, items: list[dict], addons: list[dict] | None, promo_code: str | None,
    owner_id: int | None, with_children: bool = True, slots: dict[int, tuple] | None = None,
    children: dict[int, Child] | None = None,
) -> Quote:
    """Everything priced on the server; raises the validation errors. Counts nothing."""
    lines = resolve_lines(event, items, owner_id, with_children=with_children, slots=slots,
                          children=children)
    addon_lines = resolve_addons(event, addons)
    subtotal = sum(line.price for line in lines) + sum(a.total for a in addon_lines)
    discount, promo_id = 0, None
    if promos.normalise_code(promo_code):
        promo = promos.find_promo(promo_code)
        discount = promos.compute_discount(
            promo,
            event_id=event.id,
            lines=[promos.PricedLine(line.template.id, line.price) for line in lines],
            addons_total=sum(a.total for a in addon_lines),
            now=utcnow(),
        )
        promo_id = promo.id
    return Quote(event, lines, addon_lines, subtotal, discount, promo_id)


def create_booking(
    *,
    user_id: int | None,
    event_id: int,
    items: list[dict],
    addons: list[dict] | None,
    promo_code: str | None,
    source: str,
    guest: dict | None = None,
    created_by_id: int | None = None,
    payment_mode: str = "online",
    child_owner_id: int | None = None,
) -> Booking:
    """Hold (or, when nothing is due, confirm) seats for children in an event's slots.

    ``child_owner_id`` is for guest bookings, whose children belong to a placeholder account.
    """
    if source not in BOOKING_SOURCES:
        raise ValueError(f"unknown booking source {source!r}")
    if payment_mode not in ("online", "cash"):
        raise ValidationFailed({"payment_mode": ["Must be online or cash"]})
    guest_email = ((guest or {}).get("email") or "").strip().lower() or None
    if user_id is None and guest_email is None:
        raise ValueError("a booking needs a user or a guest email")
    holds.reject_known_full(event_id, items)
    owner_id = user_id if user_id is not None else child_owner_id
    event, venue, slots_read, counts, queued, children, owner_email, holders = _event_with_slots(
        event_id, items, owner_id
    )
    holds.pause("read")
    # A child already holding a seat here hears that (already_booked names the booking to pay)
    # rather than that the slot is full - even when it is full, with that child's own seat.
    holds.ensure_not_booked(_requested_pairs(items), known=holders or {})
    holds.reject_full_in_committed(counts, items)
    if source != "waitlist":
        holds.reject_owed_to_waiting_list(queued, items)
    ensure_registration_open(event, utcnow(), walk_in=source == "admin")
    q = quote(
        event=event, items=items, addons=addons, promo_code=promo_code, owner_id=owner_id,
        slots=slots_read, children=children,
    )

    # The locked section: slots (id order), promo, variants (id order); nothing slow inside.
    seats = Counter(line.slot.id for line in q.lines)
    pairs = [(line.child.id, line.slot.id) for line in q.lines]
    slots = holds.claim_free_seats(seats)
    if slots is None:
        slots = holds.lock_slots(seats)
        holds.ensure_not_booked(pairs)
        holds.claim_seats(slots, seats)
    promo = None
    if q.promo_id is not None:
        promo = promos.take_use(
            q.promo_id, user_id=user_id, guest_email=None if user_id else guest_email
        )
    stock = Counter({a.variant.id: a.quantity for a in q.addon_lines if a.variant is not None})
    if stock:
        holds.take_stock(stock)

    now = utcnow()
    if q.total == 0 or payment_mode == "cash":
        state = {"status": "confirmed", "confirmed_at": now, "hold_expires_at": None}
    else:
        hold = timedelta(seconds=current_app.config["BOOKING_HOLD_SECONDS"])
        state = {"status": "pending_payment", "confirmed_at": None, "hold_expires_at": now + hold}
    guest = guest or {}
    booking = _insert_booking(
        user_id=user_id,
        event_id=event.id,
        source=source,
        guest_name=(guest.get("full_name") or None) if guest_email else None,
        guest_email=guest_email,
        guest_phone=(guest.get("phone") or None) if guest_email else None,
        subtotal=q.subtotal,
        discount=q.discount,
        total=q.subtotal - q.discount,
        promo_code_id=q.promo_id,
        payment_mode=payment_mode,
        created_by_id=created_by_id,
        **state,
    )
    items, booking_addons = _insert_lines(booking, q)
    if venue is not None:
        # The slots as locked (their times may have changed since the unlocked read).
        rows = [(item, line.child, slots[line.slot.id], line.template)
                for item, line in zip(items, q.lines, strict=True)]
        code = promo.code if promo is not None else None
        keep_for_answer(booking, Written(event, venue, rows, booking_addons, code))
    # The owner's address came with the children (None: not read, the lifecycle reads it).
    notify_status(booking, recipient=(owner_email, user_id)
                  if user_id is not None and children else None)
    seats_changed.delay(event.id)
    return booking


def _requested_pairs(items: list) -> list[tuple[int, int]]:
    """(child id, slot id) of the well-formed items; the rest are refused later."""
    return [(item["child_id"], item["slot_id"]) for item in items
            if isinstance(item, dict) and type(item.get("child_id")) is int
            and type(item.get("slot_id")) is int]


def _event_with_slots(event_id: int, items: list, owner_id: int | None) -> tuple:
    """(event, venue, slot id -> (slot, event game, template), slot id -> committed (booked,
    capacity), the slots with a waiting list, the owner's requested children, the owner's
    e-mail, (child id, slot id) -> the booking holding that seat): one query (``hold_reads``).

    Ids that are not well-formed are left to ``resolve_lines`` to refuse; when no requested
    slot belongs to the event, the event is read alone (404 when it does not exist) and the
    children are left to ``resolve_lines`` (None).
    """
    slot_ids = sorted(holds.requested_seats(items))
    child_ids = sorted(set(holds.requested_ids(items, "child_id")))
    read = hold_reads.read(event_id, slot_ids, child_ids, owner_id) if slot_ids else None
    if read is None:
        return (*_event_with_venue(event_id), {}, {}, set(), None, None, None)
    return (read.event, read.venue, read.slots, read.counts, read.queued, read.children,
            read.owner_email, read.holders)


def _event_with_venue(event_id: int) -> tuple[Event, Venue | None]:
    """The event, and its venue for the answer, in one query."""
    row = db.session.execute(_EVENT_WITH_VENUE, {"event_id": event_id}).first()
    if row is None:
        raise NotFound("Event")
    return row[0], row[1]


# A new booking's rows are written with prebuilt INSERT ... RETURNING statements and adopted
# into the session (nibog.core.rows): the SQL a flush would send, at a third of the CPU.
_insert_booking_stmts: dict = {}


def _insert_booking_stmt():
    """INSERT ... ON CONFLICT (booking_number) DO NOTHING RETURNING *, per dialect."""
    dialect = db.session.get_bind().dialect.name
    stmt = _insert_booking_stmts.get(dialect)
    if stmt is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(Booking.__table__)
            .on_conflict_do_nothing(index_elements=["booking_number"])
            .returning(*Booking.__table__.c)
        )
        _insert_booking_stmts[dialect] = stmt
    return stmt


def _insert_booking(**values) -> Booking:
    """Insert with a fresh random number.

    ON CONFLICT DO NOTHING turns the rare number collision into "no row" rather than an error
    that would abort the transaction, so retrying needs no savepoint.
    """
    stmt = _insert_booking_stmt()
    for _ in range(NUMBER_ATTEMPTS):
        row = db.session.execute(
            stmt, {"booking_number": new_booking_number(today_ist()), **values}
        ).first()
        if row is not None:
            return rows.adopt(Booking, row)
    raise RuntimeError(f"no free booking number in {NUMBER_ATTEMPTS} attempts")


def _insert_lines(booking: Booking, q: Quote) -> tuple[list[BookingItem], list[BookingAddon]]:
    """Items (in line order) and add-ons, one statement each."""
    try:
        items = rows.insert_rows(BookingItem, [
            {"booking_id": booking.id, "child_id": line.child.id, "slot_id": line.slot.id,
             "price": line.price}
            for line in q.lines
        ])
    except IntegrityError as exc:
        # The partial unique index caught a duplicate the locked check could not see.
        if "uq_booking_items_live_child_slot" in str(exc.orig):
            raise holds.already_booked_refused_by_index(
                [(line.child.id, line.slot.id) for line in q.lines]
            ) from None
        raise
    addons = rows.insert_rows(BookingAddon, [
        {
            "booking_id": booking.id,
            "addon_id": a.addon.id,
            "variant_id": a.variant.id if a.variant else None,
            "name": f"{a.addon.name} ({a.variant.name})" if a.variant else a.addon.name,
            "quantity": a.quantity,
            "unit_price": a.unit_price,
            "total": a.total,
        }
        for a in q.addon_lines
    ])
    return items, addons


def preview_promo(
    *, code: str, event_id: int, items: list[dict], addons: list[dict] | None,
    user_id: int | None,
) -> dict:
    """validate-promo: the discount a booking would get now, without counting a use."""
    event = get_event(event_id)
    # A guest, or a basket without children yet: price the slots and skip the children.
    with_children = user_id is not None and all(i.get("child_id") is not None for i in items)
    try:
        q = quote(event=event, items=items, addons=addons, promo_code=code, owner_id=user_id,
                  with_children=with_children)
        if q.promo_id is None:
            raise AppError("promo_invalid", "Enter a promo code", 422)
        promo = db.session.get(promos.PromoCode, q.promo_id)
        promos.ensure_uses_left(promo, user_id=user_id, guest_email=None)
    except AppError as exc:
        if exc.code not in ("promo_invalid", "promo_exhausted"):
            raise
        subtotal = _subtotal_or_none(event, items, addons, user_id, with_children)
        return {"valid": False, "discount": 0, "subtotal": subtotal, "total": subtotal,
                "currency": CURRENCY, "message": exc.message, "code": exc.code}
    return {"valid": True, "discount": q.discount, "subtotal": q.subtotal, "total": q.total,
            "currency": CURRENCY, "message": "Promo code applied", "code": None}


def _subtotal_or_none(event, items, addons, user_id, with_children) -> int | None:
    try:
        q = quote(event=event, items=items, addons=addons, promo_code=None, owner_id=user_id,
                  with_children=with_children)
    except AppError:
        return None
    return q.subtotal


def get_booking_for_user(booking_id: int, user_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.user_id != user_id:
        raise NotFound("Booking")
    return booking

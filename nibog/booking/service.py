"""The booking engine's entry points, shared by the API, the site, the admin, webhooks and jobs.

``create_booking`` validates everything it can without locks, then runs the short locked part:
slot rows by id (seats, duplicates), the promo row (uses), add-on variants by id (stock), the
rows of the booking. Services only flush; the caller's boundary commits, and notifications are
queued so they leave only after that commit. Status changes live in ``lifecycle`` and are
re-exported here under the names other features import.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from nibog.booking import holds, promos
from nibog.booking.counts import seats_changed
from nibog.booking.eligibility import ensure_registration_open
from nibog.booking.fastpath import claim, first_read, full_marks, one_statement
from nibog.booking.lifecycle import (  # noqa: F401 - the agreed import path for other features
    SeatsNoLongerAvailable,
    cancel_booking,
    cancellation_terms,
    complete_event,
    confirm_booking,
    expire_holds,
    notify_status,
    refund_amount_for,
    release_unpaid_holds_for_user,
)
from nibog.booking.models import BOOKING_SOURCES, Booking, BookingAddon, BookingItem
from nibog.booking.numbers import new_booking_number
from nibog.booking.quote import (  # noqa: F401 - the agreed import path for other features
    MAX_ADDON_QUANTITY,
    MAX_ITEMS,
    Quote,
    get_event,
    preview_promo,
    price_basket,
    quote,
    resolve_lines,
    time_clashes,
)
from nibog.booking.serialize import Written, keep_for_answer
from nibog.catalog.models import (
    Event,
    Venue,
)
from nibog.core import locking, metrics, rows
from nibog.core.errors import NotFound, ValidationFailed
from nibog.core.timeutil import today_ist, utcnow
from nibog.extensions import db

NUMBER_ATTEMPTS = 5

_EVENT_WITH_VENUE = (
    select(Event, Venue)
    .outerjoin(Venue, Venue.id == Event.venue_id)
    .where(Event.id == bindparam("event_id"))
)


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
    full_marks.reject_known_full(event_id, items)
    owner_id = user_id if user_id is not None else child_owner_id
    event, venue, slots_read, counts, queued, children, owner_email, holders = _event_with_slots(
        event_id, items, owner_id
    )
    locking.pause("read")
    # A child already holding a seat here hears that (already_booked names the booking to pay)
    # rather than that the slot is full - even when it is full, with that child's own seat.
    holds.ensure_not_booked(_requested_pairs(items), known=holders or {})
    full_marks.reject_full_in_committed(counts, items)
    if source != "waitlist":
        holds.reject_owed_to_waiting_list(queued, items)
    ensure_registration_open(event, utcnow(), walk_in=source == "admin")
    q = quote(
        event=event, items=items, addons=addons, promo_code=promo_code, owner_id=owner_id,
        slots=slots_read, children=children,
    )

    now = utcnow()
    if q.total == 0 or payment_mode == "cash":
        state = {"status": "confirmed", "confirmed_at": now, "hold_expires_at": None}
    else:
        hold = timedelta(seconds=current_app.config["BOOKING_HOLD_SECONDS"])
        state = {"status": "pending_payment", "confirmed_at": None, "hold_expires_at": now + hold}
    guest = guest or {}
    values = {
        "user_id": user_id,
        "event_id": event.id,
        "source": source,
        "guest_name": (guest.get("full_name") or None) if guest_email else None,
        "guest_email": guest_email,
        "guest_phone": (guest.get("phone") or None) if guest_email else None,
        "subtotal": q.subtotal,
        "discount": q.discount,
        "total": q.subtotal - q.discount,
        "promo_code_id": q.promo_id,
        "payment_mode": payment_mode,
        "created_by_id": created_by_id,
        **state,
    }

    # The locked section: slots (id order), promo, variants (id order); nothing slow inside.
    seats = Counter(line.slot.id for line in q.lines)
    pairs = [(line.child.id, line.slot.id) for line in q.lines]
    slots = booking = items = None
    if one_statement.applies(seats, len(q.lines), q.promo_id, q.addon_lines):
        # The usual booking: seat, booking and item in one round trip.
        line = q.lines[0]
        try:
            held = one_statement.hold(
                line.slot.id, 1, counts.get(line.slot.id, (0, 0))[0], line.child.id,
                line.price, {"booking_number": new_booking_number(today_ist()), **values},
            )
        except IntegrityError as exc:
            raise _refused_duplicate(exc, pairs) from None
        if held is not None:
            slot, booking, items = held
            slots = {slot.id: slot}
    if slots is None:
        slots = claim.claim_free_seats(seats)
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

    if booking is None:
        booking = _insert_booking(**values)
        items, booking_addons = _insert_lines(booking, q)
    else:
        booking_addons = []
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
    metrics.booking_changed("held" if state["status"] == "pending_payment" else "confirmed")
    return booking


def _requested_pairs(items: list) -> list[tuple[int, int]]:
    """(child id, slot id) of the well-formed items; the rest are refused later."""
    return [(item["child_id"], item["slot_id"]) for item in items
            if isinstance(item, dict) and type(item.get("child_id")) is int
            and type(item.get("slot_id")) is int]


def _event_with_slots(event_id: int, items: list, owner_id: int | None) -> tuple:
    """(event, venue, slot id -> (slot, event game, template), slot id -> committed (booked,
    capacity), the slots with a waiting list, the owner's requested children, the owner's
    e-mail, (child id, slot id) -> the booking holding that seat): one query (``fastpath.first_read``).

    Ids that are not well-formed are left to ``resolve_lines`` to refuse; when no requested
    slot belongs to the event, the event is read alone (404 when it does not exist) and the
    children are left to ``resolve_lines`` (None).
    """
    slot_ids = sorted(full_marks.requested_seats(items))
    child_ids = sorted(set(full_marks.requested_ids(items, "child_id")))
    read = first_read.read(event_id, slot_ids, child_ids, owner_id) if slot_ids else None
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
        raise _refused_duplicate(exc, [(line.child.id, line.slot.id) for line in q.lines]) from None
    addons = rows.insert_rows(
        BookingAddon, [{"booking_id": booking.id, **a.as_row()} for a in q.addon_lines]
    )
    return items, addons


def _refused_duplicate(exc: IntegrityError, pairs: list[tuple[int, int]]) -> Exception:
    """The partial unique index caught a duplicate the unlocked check could not see (a double
    tap): ``already_booked``. Any other integrity error is raised as it is."""
    if "uq_booking_items_live_child_slot" in str(exc.orig):
        return holds.already_booked_refused_by_index(pairs)
    return exc


def get_booking_for_user(booking_id: int, user_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.user_id != user_id:
        raise NotFound("Booking")
    return booking

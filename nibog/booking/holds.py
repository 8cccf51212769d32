"""Seats and add-on stock under their row locks: the authority on what is free.

Rows are locked through ``nibog.core.locking`` (its lock order, timeout and test guards). The
shortcuts that answer before these locks are taken live in ``nibog.booking.fastpath``.
"""

from __future__ import annotations

import logging
from collections import Counter

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value

from nibog.booking.fastpath import full_marks
from nibog.booking.fastpath.full_marks import requested_seats
from nibog.booking.models import BookingItem
from nibog.catalog.models import AddOnVariant, GameSlot
from nibog.core import locking, rows
from nibog.core.errors import AppError, Conflict
from nibog.extensions import db

log = logging.getLogger(__name__)

_SLOTS = GameSlot.__table__
# Every column: a slot refreshed from this row is as fresh as a populate_existing load.
_LOCK_SLOTS = (
    select(_SLOTS)
    .where(_SLOTS.c.id.in_(bindparam("slot_ids", expanding=True)))
    .order_by(_SLOTS.c.id)
    .with_for_update()
)
_CLAIM = (
    update(_SLOTS).where(_SLOTS.c.id == bindparam("slot_id")).values(booked_count=bindparam("booked"))
)


def lock_slots(seats_needed: Counter) -> dict[int, GameSlot]:
    """Lock the slots in id order; returns id -> slot object with the locked row's values."""
    if locking.guards.all_on:
        # Plain rows made into the session's objects: a fraction of the CPU of an ORM load
        # with populate_existing, with the same result.
        locked = db.session.execute(_LOCK_SLOTS, {"slot_ids": sorted(seats_needed)})
        return {row.id: rows.load(GameSlot, row) for row in locked}
    return locking.lock_rows(GameSlot, seats_needed)


def reject_owed_to_waiting_list(queued: set[int], items: list[dict]) -> None:
    """slot_full for a slot with children on its waiting list, even if a seat is free.

    A seat freed in such a slot (a cancellation, an expired hold, a raised capacity) belongs to
    the first child in the queue, who is offered it by the job that seat's release queued
    (``waitlist.offer_seats``, whose own bookings skip this rule). Until then the seat shows as
    free; without this rule whoever asked first in those seconds would take it. No full-mark is
    written: the slot is not full, and the queue will take the seat.
    """
    owed = sorted(sid for sid in requested_seats(items) if sid in queued)
    if owed:
        raise Conflict(
            "slot_full",
            "Seats in this slot go to its waiting list first; join the waiting list",
            {"slot_ids": owed, "waiting_list": True},
        )


def claim_seats(slots: dict[int, GameSlot], seats_needed: Counter) -> None:
    """Take the seats of locked slots, all or none: 409 slot_full names every full slot."""
    locking.pause("seats_read")
    full = sorted(
        sid
        for sid, need in seats_needed.items()
        if slots.get(sid) is None or slots[sid].booked_count + need > slots[sid].capacity
    )
    if full:
        full_marks.mark_full([slots[sid] for sid in full
                    if slots.get(sid) is not None and slots[sid].seats_left == 0])
        raise full_marks.slot_full(full)
    closed = sorted(sid for sid in seats_needed if not slots[sid].is_open)
    if closed:
        raise AppError("slot_closed", "Booking is closed for this slot", 422, {"slot_ids": closed})
    if db.session().get_nested_transaction() is not None:
        # A savepoint's rollback expires only the objects its flushes changed: let the unit of
        # work record this change, so a rolled-back claim is not left in the slot objects.
        for sid, need in seats_needed.items():
            slots[sid].booked_count += need
        return
    _write_claim(slots, seats_needed)


def _write_claim(slots: dict[int, GameSlot], seats_needed: Counter) -> None:
    """The claim's UPDATE, sent at once with a prebuilt statement instead of a flush.

    The same SQL a flush would send (the new count, computed from the value read under the row
    lock, so the lock_rows=False control still loses updates), at a fraction of the CPU. It
    bypasses the after_flush listeners, which is right only because a claim never frees a seat:
    everything that frees one (cancel, expiry, capacity raise) still changes the objects and
    flushes, so full_marks.clear_full_marks sees it.
    """
    params = [{"slot_id": sid, "booked": slots[sid].booked_count + need}
              for sid, need in sorted(seats_needed.items())]
    db.session.execute(_CLAIM, params if len(params) > 1 else params[0])
    for p in params:
        slot = slots[p["slot_id"]]
        set_committed_value(slot, "booked_count", p["booked"])
        # The UPDATE set it to now(), as a flush would have; read it again if asked.
        db.session.expire(slot, ["updated_at"])


def give_back_seats(seats: Counter) -> list[int]:
    """Release seats (cancel, expiry). Returns the slots that gained a free seat."""
    slots = locking.lock_rows(GameSlot, seats)
    for sid, count in seats.items():
        slots[sid].booked_count = max(0, slots[sid].booked_count - count)
    return sorted(seats)


def ensure_not_booked(
    pairs: list[tuple[int, int]],
    *,
    exclude_booking_id: int | None = None,
    known: dict[tuple[int, int], int] | None = None,
) -> None:
    """409 already_booked when a child already holds a live seat in one of these slots.

    The details name the booking that holds the seat, so an app can send the parent to pay that
    hold instead. ``known``: the holders already read (``fastpath.first_read``), so nothing is queried;
    otherwise this queries, under the slot locks. Either way the partial unique index on live
    items is the authority: two parallel requests for the same child and slot both pass this
    check, and the second one's items INSERT is refused (``already_booked`` too).
    """
    seen: set[tuple[int, int]] = set()
    repeated = []
    for pair in pairs:
        if pair in seen:
            repeated.append(pair)
        seen.add(pair)
    if repeated:
        raise already_booked(repeated)
    if not pairs:
        return
    if known is not None:
        taken = [(c, s, known[(c, s)]) for c, s in pairs if (c, s) in known]
    elif exclude_booking_id is None:
        taken = db.session.execute(_LIVE_ITEMS, {"pairs": pairs}).all()
    else:
        taken = db.session.execute(
            _LIVE_ITEMS_OF_OTHERS, {"pairs": pairs, "exclude_booking_id": exclude_booking_id}
        ).all()
    if taken:
        raise already_booked([(c, s) for c, s, _ in taken], {(c, s): b for c, s, b in taken})


# On the table, not the entity: plain rows, without the ORM's execution path.
_ITEMS = BookingItem.__table__
_LIVE_ITEMS = select(_ITEMS.c.child_id, _ITEMS.c.slot_id, _ITEMS.c.booking_id).where(
    _ITEMS.c.is_live.is_(True),
    tuple_(_ITEMS.c.child_id, _ITEMS.c.slot_id).in_(bindparam("pairs", expanding=True)),
)
_LIVE_ITEMS_OF_OTHERS = _LIVE_ITEMS.where(_ITEMS.c.booking_id != bindparam("exclude_booking_id"))


def already_booked_refused_by_index(pairs: list[tuple[int, int]]) -> Conflict:
    """``already_booked`` for items the partial unique index refused (a double tap).

    This transaction is aborted, so the holders are read on a connection of their own. They
    are there to read: PostgreSQL refuses a duplicate only once the row it duplicates has
    committed (it waits for the other transaction first). If they cannot be read, or the other
    seat has been given up since, every requested pair is named without a booking id.
    """
    try:
        with db.engine.connect() as conn:
            taken = conn.execute(_LIVE_ITEMS, {"pairs": pairs}).all()
    except SQLAlchemyError as exc:  # only the details of an answer already decided
        log.warning("holders of a refused duplicate unreadable: %s", exc)
        taken = []
    if not taken:
        return already_booked(pairs)
    return already_booked([(c, s) for c, s, _ in taken], {(c, s): b for c, s, b in taken})


def already_booked(pairs, holders: dict | None = None) -> Conflict:
    holders = holders or {}
    return Conflict(
        "already_booked",
        "This child is already booked into this slot",
        {
            "items": [
                {"child_id": c, "slot_id": s, "booking_id": holders.get((c, s))}
                for c, s in sorted(set(pairs))
            ]
        },
    )


def take_stock(quantities: Counter) -> dict[int, AddOnVariant]:
    """Lock add-on variants (after slots and promo) and take stock; 409 addon_out_of_stock."""
    variants = locking.lock_rows(AddOnVariant, quantities)
    locking.pause("stock_read")
    short = sorted(
        vid
        for vid, qty in quantities.items()
        if variants[vid].stock is not None and variants[vid].sold_count + qty > variants[vid].stock
    )
    if short:
        raise Conflict(
            "addon_out_of_stock",
            "Not enough stock left for an add-on",
            {
                "variant_ids": short,
                "stock_left": {
                    str(v): max(0, variants[v].stock - variants[v].sold_count) for v in short
                },
            },
        )
    for vid, qty in quantities.items():
        variants[vid].sold_count += qty
    return variants


def give_back_stock(quantities: Counter) -> None:
    variants = locking.lock_rows(AddOnVariant, quantities)
    for vid, qty in quantities.items():
        variants[vid].sold_count = max(0, variants[vid].sold_count - qty)

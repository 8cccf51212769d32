"""Seats, add-on stock and their row locks: the part of booking that must be right under load.

Lock order, everywhere (create, confirm after expiry, cancel, expire): slot rows by id, then the
promo code row, then add-on variant rows by id. Two transactions that need overlapping rows
therefore queue behind each other instead of deadlocking.

The switches below exist only for the concurrency tests' controls (set with monkeypatch): with a
guard switched off the same race really oversells, which proves the tests can fail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from sqlalchemy import select, tuple_

from nibog.booking.models import BookingItem
from nibog.catalog.models import AddOnVariant, EventGame, GameSlot
from nibog.core.errors import AppError, Conflict
from nibog.extensions import db

# Test-only switches. LOCK_ROWS=False reads counters without FOR UPDATE (the classic lost
# update); LOCK_IN_ID_ORDER=False locks slots one by one in request order (deadlock-prone).
LOCK_ROWS = True
LOCK_IN_ID_ORDER = True
# Test-only hook called with a stage name between reading a counter and writing it.
PAUSE: Callable[[str], None] | None = None


def pause(stage: str) -> None:
    if PAUSE is not None:
        PAUSE(stage)


def lock_one(model, row_id: int):
    stmt = select(model).where(model.id == row_id).execution_options(populate_existing=True)
    if LOCK_ROWS:
        stmt = stmt.with_for_update()
        return db.session.scalar(stmt)
    # Unguarded (tests only): whatever this session read before, however stale.
    return db.session.get(model, row_id) or db.session.scalar(stmt)


def lock_rows(model, ids: Iterable[int], *, in_request_order: bool = False) -> dict[int, object]:
    """Lock rows in ascending id order with one statement; returns id -> row (fresh values)."""
    ordered = list(dict.fromkeys(ids))
    if not ordered:
        return {}
    if not LOCK_ROWS:
        return {i: lock_one(model, i) for i in ordered}
    if in_request_order:
        rows = {}
        for i in ordered:
            rows[i] = lock_one(model, i)
            pause("row_locked")
        return rows
    stmt = (
        select(model)
        .where(model.id.in_(ordered))
        .order_by(model.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in db.session.scalars(stmt)}


def lock_slots(seats_needed: Counter) -> dict[int, GameSlot]:
    return lock_rows(GameSlot, seats_needed, in_request_order=not LOCK_IN_ID_ORDER)


def _slot_full(full: list[int]) -> Conflict:
    return Conflict(
        "slot_full",
        f"Slot {full[0]} has no seats left" if len(full) == 1 else "Some slots have no seats left",
        {"slot_ids": full},
    )


def reject_known_full(event_id: int, items: list[dict]) -> None:
    """Answer slot_full before any other work when committed data already says so.

    In a sales burst most requests are for slots that filled seconds ago; one unlocked read
    spares them the child, eligibility and pricing queries and, above all, a wait in the row
    lock queue. It can only refuse a slot that was full in committed data, never one with
    seats: the locked check in ``claim_seats`` stays the authority for everything else.
    """
    need = Counter(
        item["slot_id"] for item in items
        if isinstance(item, dict) and isinstance(item.get("slot_id"), int)
    )
    if not need or not LOCK_ROWS:
        return
    rows = db.session.execute(
        select(GameSlot.id, GameSlot.booked_count, GameSlot.capacity)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .where(GameSlot.id.in_(list(need)), EventGame.event_id == event_id)
    ).all()
    full = sorted(r.id for r in rows if r.booked_count + need[r.id] > r.capacity)
    if full:
        raise _slot_full(full)


def claim_seats(slots: dict[int, GameSlot], seats_needed: Counter) -> None:
    """Take the seats of locked slots, all or none: 409 slot_full names every full slot."""
    pause("seats_read")
    full = sorted(
        sid
        for sid, need in seats_needed.items()
        if slots.get(sid) is None or slots[sid].booked_count + need > slots[sid].capacity
    )
    if full:
        raise _slot_full(full)
    closed = sorted(sid for sid in seats_needed if not slots[sid].is_open)
    if closed:
        raise AppError("slot_closed", "Booking is closed for this slot", 422, {"slot_ids": closed})
    for sid, need in seats_needed.items():
        slots[sid].booked_count += need


def give_back_seats(seats: Counter) -> list[int]:
    """Release seats (cancel, expiry). Returns the slots that gained a free seat."""
    slots = lock_rows(GameSlot, seats)
    for sid, count in seats.items():
        slots[sid].booked_count = max(0, slots[sid].booked_count - count)
    return sorted(seats)


def ensure_not_booked(pairs: list[tuple[int, int]], *, exclude_booking_id: int | None = None) -> None:
    """409 already_booked when a child already holds a live seat in one of these slots.

    Runs under the slot locks, so two parallel requests for the same child and slot see each
    other; the partial unique index on live items backs it up. The details name the booking
    that holds the seat, so an app can send the parent to pay that hold instead.
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
    stmt = select(BookingItem.child_id, BookingItem.slot_id, BookingItem.booking_id).where(
        BookingItem.is_live.is_(True), tuple_(BookingItem.child_id, BookingItem.slot_id).in_(pairs)
    )
    if exclude_booking_id is not None:
        stmt = stmt.where(BookingItem.booking_id != exclude_booking_id)
    taken = db.session.execute(stmt).all()
    if taken:
        raise already_booked([(c, s) for c, s, _ in taken], {(c, s): b for c, s, b in taken})


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
    variants = lock_rows(AddOnVariant, quantities)
    pause("stock_read")
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
    variants = lock_rows(AddOnVariant, quantities)
    for vid, qty in quantities.items():
        variants[vid].sold_count = max(0, variants[vid].sold_count - qty)

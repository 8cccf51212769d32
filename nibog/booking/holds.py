"""Seats, add-on stock and their row locks: the part of booking that must be right under load.

Lock order, everywhere (create, confirm after expiry, cancel, expire): slot rows by id, then the
promo code row, then add-on variant rows by id. Two transactions that need overlapping rows
therefore queue behind each other instead of deadlocking.

The switches below exist only for the concurrency tests' controls (set with monkeypatch): with a
guard switched off the same race really oversells, which proves the tests can fail.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable

from redis.exceptions import RedisError
from sqlalchemy import bindparam, event, inspect, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from nibog.booking.models import BookingItem
from nibog.catalog.models import AddOnVariant, EventGame, GameSlot
from nibog.core import prefetch, rows
from nibog.core.errors import AppError, Conflict
from nibog.extensions import db, get_redis

log = logging.getLogger(__name__)

# How long a "this slot is full" mark may live. It is deleted the moment a seat frees up (see
# _clear_full_marks); the expiry only bounds how long a mark could outlive a lost delete.
FULL_MARK_SECONDS = 30

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


# Lock and claim in one statement, only while the slot has the seats and is open. In READ
# COMMITTED an UPDATE that waited for the row lock checks its WHERE again on the row as the
# other transaction left it, so the condition is decided under the lock, like claim_seats.
_CLAIM_IF_FREE = (
    update(_SLOTS)
    .where(
        _SLOTS.c.id == bindparam("slot_id"),
        _SLOTS.c.booked_count + bindparam("seats") <= _SLOTS.c.capacity,
        _SLOTS.c.is_open.is_(True),
    )
    .values(booked_count=_SLOTS.c.booked_count + bindparam("seats"))
    .returning(*_SLOTS.c)
)


def claim_free_seats(seats_needed: Counter) -> dict[int, GameSlot] | None:
    """Take the seats of a one-slot request in one statement; None when that is not done.

    A booking's usual shape (one slot) while the slot has room: one round trip instead of a
    locking read and an UPDATE. None when the slot has no room, is closed or gone, or the
    request spans several slots (their locks must be taken in id order), or runs in a
    savepoint (claim_seats records such a claim in the unit of work): the caller then takes
    the locked path (lock_slots, claim_seats), which finds out why and answers as always.
    """
    if (
        len(seats_needed) != 1
        or not (LOCK_ROWS and LOCK_IN_ID_ORDER)
        or db.session().get_nested_transaction() is not None
    ):
        return None
    ((slot_id, need),) = seats_needed.items()
    row = db.session.execute(_CLAIM_IF_FREE, {"slot_id": slot_id, "seats": need}).first()
    if row is None:
        return None
    pause("seats_read")
    return {slot_id: rows.load(GameSlot, row)}


def lock_slots(seats_needed: Counter) -> dict[int, GameSlot]:
    """Lock the slots in id order; returns id -> slot object with the locked row's values."""
    if LOCK_ROWS and LOCK_IN_ID_ORDER:
        # Plain rows made into the session's objects: a fraction of the CPU of an ORM load
        # with populate_existing, with the same result.
        locked = db.session.execute(_LOCK_SLOTS, {"slot_ids": sorted(seats_needed)})
        return {row.id: rows.load(GameSlot, row) for row in locked}
    return lock_rows(GameSlot, seats_needed, in_request_order=not LOCK_IN_ID_ORDER)


def _slot_full(full: list[int]) -> Conflict:
    return Conflict(
        "slot_full",
        f"Slot {full[0]} has no seats left" if len(full) == 1 else "Some slots have no seats left",
        {"slot_ids": full},
    )


def _full_key(slot_id: int) -> str:
    return f"slot-full:{slot_id}"


def requested_ids(items: list[dict], field: str) -> list[int]:
    """The ``field`` ids of a request's (not yet validated) items; malformed ids are skipped
    (``bool`` too: ``True`` must not stand for id 1), the validation refuses them later."""
    return [item[field] for item in items
            if isinstance(item, dict) and type(item.get(field)) is int]


def requested_seats(items: list[dict]) -> Counter:
    """Seats per slot id in a request's (not yet validated) items."""
    return Counter(requested_ids(items, "slot_id"))


def full_mark_keys(items) -> list[str]:
    """The Redis keys ``reject_known_full`` will read for these (raw) items, for a prefetch."""
    return [_full_key(sid) for sid in requested_seats(items if isinstance(items, list) else [])]


def reject_known_full(event_id: int, items: list[dict]) -> None:
    """Answer slot_full before any other work when a Redis mark already says so.

    In a sales burst most requests are for slots that filled seconds ago: one round trip, no
    database at all, spares them the event, child, eligibility and pricing queries and, above
    all, a wait in the row lock queue. A mark is only written by a transaction that holds the
    slot's row lock and found it full, and deleted by every change that frees a seat while that
    change holds the same lock, so it never hides a free seat. The locked check in
    ``claim_seats`` stays the authority for everything else.
    """
    need = requested_seats(items)
    if not need or not LOCK_ROWS:
        return
    marked = _marked_full(event_id, list(need), _requested_children(items))
    if marked:
        raise _slot_full(marked)


def _requested_children(items: list[dict]) -> dict[int, set[bytes]]:
    """slot id -> the requested child ids, as a mark spells them."""
    out: dict[int, set[bytes]] = {}
    for item in items:
        if isinstance(item, dict) and type(item.get("slot_id")) is int \
                and type(item.get("child_id")) is int:
            out.setdefault(item["slot_id"], set()).add(str(item["child_id"]).encode())
    return out


def reject_full_in_committed(counts: dict[int, tuple[int, int]], items: list[dict]) -> None:
    """slot_full from committed counts read without a lock (slot id -> (booked, capacity)).

    The caller reads them with the event and slots it needs anyway, so a request that goes on
    to book pays nothing extra. It can only refuse a slot that was full at a committed instant;
    a full slot is also marked (under its lock) for the requests that follow.
    """
    need = requested_seats(items)
    if not need or not LOCK_ROWS:
        return
    full = sorted(sid for sid, (booked, capacity) in counts.items()
                  if sid in need and booked + need[sid] > capacity)
    if full:
        if any(counts[sid][0] >= counts[sid][1] for sid in full):
            _mark_while_free_to_lock(full)
        raise _slot_full(full)


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


def _mark_while_free_to_lock(slot_ids: list[int]) -> None:
    """Mark the slots that are still full under their row lock, skipping any that is busy.

    A mark must only be written under the lock (see _clear_full_marks), and this request is
    about to be refused anyway: a row nobody holds costs one short lock; a busy one is left
    for the next request or for claim_seats to mark.
    """
    if get_redis() is None:
        return
    stmt = (
        select(GameSlot)
        .where(GameSlot.id.in_(slot_ids))
        .order_by(GameSlot.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    _mark_full([slot for slot in db.session.scalars(stmt) if slot.seats_left == 0])


def _marked_full(
    event_id: int, slot_ids: list[int], children: dict[int, set[bytes]] | None = None
) -> list[int]:
    """The slots a mark says are full, except those where a requested child holds one of the
    seats (``children``: slot id -> child ids): that request is a repeat, and the view answers
    it ``already_booked`` with the booking to pay, not ``slot_full``."""
    conn = get_redis()
    if conn is None:
        return []
    keys = [_full_key(sid) for sid in slot_ids]
    try:
        marks = prefetch.take(keys)
        if marks is None:
            marks = conn.mget(keys)
    except RedisError as exc:  # only a shortcut: the database path answers without it
        log.warning("slot-full marks unreadable: %s", exc)
        return []
    # The mark names the slot's event, so a slot id from another event is not answered here.
    expected = str(event_id).encode()
    children = children or {}
    full = []
    for sid, mark in zip(slot_ids, marks, strict=True):
        if mark is None:
            continue
        marked_event, _, holders = mark.partition(b":")
        if marked_event == expected and not (children.get(sid, set()) & set(holders.split(b","))):
            full.append(sid)
    return sorted(full)


def _mark_full(slots: list[GameSlot]) -> None:
    """Record slots found without a seat. Called only while their row locks are held.

    A mark reads ``{event id}:{child id},{child id},...``: the slot's event and the children
    holding its seats. Under the row lock those are exactly the holders while the mark lives
    (any seat given up deletes it), so a child's own repeated request is not told slot_full.
    """
    conn = get_redis()
    if conn is None or not slots or not LOCK_ROWS:
        return
    holders: dict[int, list[str]] = {}
    for slot_id, child_id in db.session.execute(
        _HOLDERS, {"slot_ids": sorted(slot.id for slot in slots)}
    ):
        holders.setdefault(slot_id, []).append(str(child_id))
    try:
        pipe = conn.pipeline(transaction=False)
        for slot in slots:
            game = db.session.get(EventGame, slot.event_game_id)
            mark = f"{game.event_id}:{','.join(holders.get(slot.id, []))}"
            pipe.set(_full_key(slot.id), mark, ex=FULL_MARK_SECONDS)
        pipe.execute()
    except RedisError as exc:
        log.warning("slot-full marks not written: %s", exc)


@event.listens_for(Session, "after_flush")
def _clear_full_marks(session, _flush_context) -> None:
    """A flush that freed a seat (or dropped a slot) deletes the slot's mark.

    The UPDATE has just taken the row lock and keeps it until the transaction ends, so no
    request can find the slot full and mark it again before the freed seat is visible. A mark
    that cannot be deleted fails the transaction: the seat must not stay hidden.
    """
    freed = []
    for obj in session.dirty:
        if isinstance(obj, GameSlot):
            attrs = inspect(obj).attrs
            booked, capacity = attrs.booked_count.history, attrs.capacity.history
            if (booked.deleted and booked.added and booked.added[0] < booked.deleted[0]) or (
                capacity.deleted and capacity.added and capacity.added[0] > capacity.deleted[0]
            ):
                freed.append(obj.id)
    freed.extend(obj.id for obj in session.deleted if isinstance(obj, GameSlot))
    if not freed:
        return
    conn = get_redis()
    if conn is not None:
        conn.delete(*[_full_key(sid) for sid in freed])


def claim_seats(slots: dict[int, GameSlot], seats_needed: Counter) -> None:
    """Take the seats of locked slots, all or none: 409 slot_full names every full slot."""
    pause("seats_read")
    full = sorted(
        sid
        for sid, need in seats_needed.items()
        if slots.get(sid) is None or slots[sid].booked_count + need > slots[sid].capacity
    )
    if full:
        _mark_full([slots[sid] for sid in full
                    if slots.get(sid) is not None and slots[sid].seats_left == 0])
        raise _slot_full(full)
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
    lock, so the LOCK_ROWS=False control still loses updates), at a fraction of the CPU. It
    bypasses the after_flush listeners, which is right only because a claim never frees a seat:
    everything that frees one (cancel, expiry, capacity raise) still changes the objects and
    flushes, so _clear_full_marks sees it.
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
    slots = lock_rows(GameSlot, seats)
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
    hold instead. ``known``: the holders already read (``hold_reads``), so nothing is queried;
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
_HOLDERS = select(_ITEMS.c.slot_id, _ITEMS.c.child_id).where(
    _ITEMS.c.is_live.is_(True), _ITEMS.c.slot_id.in_(bindparam("slot_ids", expanding=True))
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

"""Redis "this slot is full" marks: a burst's refusals answered without the database.

In a sales burst most requests are for slots that filled seconds ago. A mark is only written by
a transaction that holds the slot's row lock and found it full, and deleted by every change
that frees a seat while that change holds the same lock, so it never hides a free seat for
longer than the change's commit. The locked check in ``holds.claim_seats`` stays the authority.
A Redis that cannot be reached turns the shortcut off; it never stops a seat from being
released (a mark that cannot be deleted is logged, and expires after ``FULL_MARK_SECONDS``).
"""

from __future__ import annotations

import logging
from collections import Counter

from redis.exceptions import RedisError
from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.orm import Session

from nibog.booking.models import BookingItem
from nibog.catalog.models import EventGame, GameSlot
from nibog.core import locking, prefetch
from nibog.core.errors import Conflict
from nibog.extensions import db, get_redis

log = logging.getLogger(__name__)

# How long a mark may live. It is deleted the moment a seat frees up (clear_full_marks); the
# expiry only bounds how long a mark could outlive a lost delete.
FULL_MARK_SECONDS = 30


def slot_full(full: list[int]) -> Conflict:
    return Conflict(
        "slot_full",
        f"Slot {full[0]} has no seats left" if len(full) == 1 else "Some slots have no seats left",
        {"slot_ids": full},
    )


def full_key(slot_id: int) -> str:
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
    return [full_key(sid) for sid in requested_seats(items if isinstance(items, list) else [])]


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
    if not need:
        return
    marked = marked_full(event_id, list(need), _requested_children(items))
    if marked:
        raise slot_full(marked)


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
    if not need:
        return
    full = sorted(sid for sid, (booked, capacity) in counts.items()
                  if sid in need and booked + need[sid] > capacity)
    if full:
        if not locking.guards.marks_under_lock:
            # Tests only (the guard's control): marked from the unlocked read, however stale.
            mark_full([db.session.get(GameSlot, sid) for sid in full
                       if counts[sid][0] >= counts[sid][1]])
        elif any(counts[sid][0] >= counts[sid][1] for sid in full):
            mark_while_free_to_lock(full)
        raise slot_full(full)


def mark_while_free_to_lock(slot_ids: list[int]) -> None:
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
    mark_full([slot for slot in db.session.scalars(stmt) if slot.seats_left == 0])


def marked_full(
    event_id: int, slot_ids: list[int], children: dict[int, set[bytes]] | None = None
) -> list[int]:
    """The slots a mark says are full, except those where a requested child holds one of the
    seats (``children``: slot id -> child ids): that request is a repeat, and the view answers
    it ``already_booked`` with the booking to pay, not ``slot_full``."""
    conn = get_redis()
    if conn is None:
        return []
    keys = [full_key(sid) for sid in slot_ids]
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


# The children holding a live seat in these slots (read under the slots' row locks).
_ITEMS = BookingItem.__table__
_HOLDERS = select(_ITEMS.c.slot_id, _ITEMS.c.child_id).where(
    _ITEMS.c.is_live.is_(True), _ITEMS.c.slot_id.in_(bindparam("slot_ids", expanding=True))
)


def mark_full(slots: list[GameSlot]) -> None:
    """Record slots found without a seat. Called only while their row locks are held.

    A mark reads ``{event id}:{child id},{child id},...``: the slot's event and the children
    holding its seats. Under the row lock those are exactly the holders while the mark lives
    (any seat given up deletes it), so a child's own repeated request is not told slot_full.
    """
    conn = get_redis()
    if conn is None or not slots or not locking.guards.lock_rows:
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
            pipe.set(full_key(slot.id), mark, ex=FULL_MARK_SECONDS)
        pipe.execute()
    except RedisError as exc:
        log.warning("slot-full marks not written: %s", exc)


@event.listens_for(Session, "after_flush")
def clear_full_marks(session, _flush_context) -> None:
    """A flush that freed a seat (or dropped a slot) deletes the slot's mark.

    The UPDATE has just taken the row lock and keeps it until the transaction ends, so no
    request can find the slot full and mark it again before the freed seat is visible.
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
    if conn is None:
        return
    try:
        conn.delete(*[full_key(sid) for sid in freed])
    except RedisError as exc:
        # The seat is released all the same: a stale mark refuses requests for at most
        # FULL_MARK_SECONDS, while failing here would keep the seat taken for good.
        log.warning("slot-full marks of freed slots %s not deleted: %s", freed, exc)

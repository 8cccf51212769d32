"""Event day at the venue: who is in which slot, check-in, attendance and winners, and the
certificates' progress once the event is completed.

The rules are the booking and document services' (``booking.checkin``, ``documents``); this
module adds what the venue page needs on top: the participants list in one query, a check-in
that refuses a ticket of another event, results recorded a slot at a time, all audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import case, func, select

from nibog.accounts.models import Child, User
from nibog.booking.models import Booking, BookingItem
from nibog.catalog.admin_service import Actor
from nibog.catalog.models import Event, EventGame, GameSlot, GameTemplate
from nibog.checkin import service as checkin
from nibog.core.audit import record, snapshot
from nibog.core.errors import Conflict, NotFound, ValidationFailed
from nibog.core.timeutil import age_in_months
from nibog.extensions import db

SOLD = ("confirmed", "completed")


@dataclass
class Participant:
    item_id: int
    booking_id: int
    booking_number: str
    child_name: str
    age_months: int
    parent: str
    phone: str | None
    checked_in_at: datetime | None
    attendance: str
    result_position: int | None
    has_certificate: bool


@dataclass
class SlotGroup:
    slot_id: int
    game: str
    start_time: time
    end_time: time
    capacity: int
    participants: list[Participant]

    @property
    def checked_in(self) -> int:
        return sum(1 for p in self.participants if p.checked_in_at is not None)


def participants(event: Event) -> list[SlotGroup]:
    """Every slot of the event (games in their order, slots by time) with its children."""
    slots = db.session.execute(
        select(GameSlot.id, GameTemplate.name, GameSlot.start_time, GameSlot.end_time,
               GameSlot.capacity)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
        .where(EventGame.event_id == event.id)
        .order_by(EventGame.sort_order, EventGame.id, GameSlot.start_time, GameSlot.id)
    ).all()
    groups = {s[0]: SlotGroup(s[0], s[1], s[2], s[3], s[4], []) for s in slots}
    rows = db.session.execute(
        select(BookingItem.id, BookingItem.slot_id, Booking.id, Booking.booking_number,
               Child.full_name, Child.date_of_birth,
               func.coalesce(User.full_name, Booking.guest_name, ""),
               func.coalesce(User.phone, Booking.guest_phone),
               BookingItem.checked_in_at, BookingItem.attendance, BookingItem.result_position,
               BookingItem.certificate_path.is_not(None))
        .join(Booking, Booking.id == BookingItem.booking_id)
        .join(Child, Child.id == BookingItem.child_id)
        .outerjoin(User, User.id == Booking.user_id)
        .where(Booking.event_id == event.id, Booking.status.in_(SOLD),
               BookingItem.is_live.is_(True))
        .order_by(BookingItem.slot_id, Child.full_name, BookingItem.id)
    ).all()
    for r in rows:
        group = groups.get(r[1])
        if group is None:
            continue
        group.participants.append(Participant(
            item_id=r[0], booking_id=r[2], booking_number=r[3], child_name=r[4],
            age_months=age_in_months(r[5], event.event_date), parent=r[6], phone=r[7],
            checked_in_at=r[8], attendance=r[9], result_position=r[10], has_certificate=r[11],
        ))
    return list(groups.values())


def progress(event: Event) -> dict:
    """Counts for the page's header and the certificates' progress bar."""
    eligible = (BookingItem.attendance != "no_show") if event.status == "completed" \
        else (BookingItem.attendance == "attended")
    row = db.session.execute(
        select(
            func.count(BookingItem.id),
            func.count(BookingItem.checked_in_at),
            func.sum(case((BookingItem.attendance == "no_show", 1), else_=0)),
            func.sum(case((eligible, 1), else_=0)),
            func.sum(case((eligible & BookingItem.certificate_path.is_not(None), 1), else_=0)),
        )
        .join(Booking, Booking.id == BookingItem.booking_id)
        .where(Booking.event_id == event.id, Booking.status.in_(SOLD),
               BookingItem.is_live.is_(True))
    ).one()
    total, checked_in, no_show, eligible_n, ready = (int(v or 0) for v in row)
    return {
        "children": total, "checked_in": checked_in, "no_show": no_show,
        "certificates_eligible": eligible_n if event.status == "completed" else 0,
        "certificates_ready": ready if event.status == "completed" else 0,
        "completed": event.status == "completed",
    }


def check_in_at(event_id: int, actor: Actor, *, booking_number: str | None = None,
                qr_payload: str | None = None, item_id: int | None = None,
                force: bool = False) -> checkin.CheckInResult:
    """``booking.checkin.check_in`` for this event's page: a ticket for another event is
    refused (nothing is recorded), and the check-in is audited like the API's."""
    number = (booking_number or "").strip().upper() or None
    if number and not qr_payload:
        other = db.session.scalar(select(Booking.event_id).where(Booking.booking_number == number))
        if other is None:
            raise NotFound("Booking")
        _same_event(event_id, other)
    result = checkin.check_in(actor_id=actor.id, qr_payload=qr_payload, booking_number=number,
                              item_id=item_id, force=force)
    _same_event(event_id, result.booking.event_id)
    record("booking.check_in", entity_type="bookings", entity_id=result.booking.id,
           actor_id=actor.id, after={"item_ids": result.checked_in_item_ids, "force": force},
           client_ip=actor.ip)
    return result


def _same_event(event_id: int, other_event_id: int) -> None:
    if other_event_id != event_id:
        title = db.session.scalar(select(Event.title).where(Event.id == other_event_id))
        raise Conflict("wrong_event", f"This ticket is for another event: {title}",
                       {"event_id": other_event_id})


@dataclass(frozen=True)
class ResultChange:
    item_id: int
    attendance: str
    result_position: int | None


def record_results(event_id: int, slot_id: int, changes: list[ResultChange],
                   actor: Actor) -> int:
    """Attendance and places for children of one slot; only rows that changed are written
    (and audited). Two children may share a place (a tie). Returns how many changed."""
    items = {
        item.id: item for item in db.session.scalars(
            select(BookingItem)
            .join(Booking, Booking.id == BookingItem.booking_id)
            .where(BookingItem.slot_id == slot_id, Booking.event_id == event_id,
                   BookingItem.is_live.is_(True), Booking.status.in_(SOLD))
        )
    }
    changed = 0
    for change in changes:
        item = items.get(change.item_id)
        if item is None:
            raise ValidationFailed({"items": [f"Child entry {change.item_id} is not in this slot"]})
        if change.result_position is not None and change.attendance == "no_show":
            raise ValidationFailed(
                {f"att-{item.id}": ["A child with a place cannot be marked absent."]})
        if (item.attendance, item.result_position) == (change.attendance, change.result_position):
            continue
        before = snapshot(item)
        checkin.set_item_result(
            item.booking_id, item.id, attendance=change.attendance,
            result_position=change.result_position,
            clear_position=change.result_position is None,
        )
        record("booking_item.update", item, actor_id=actor.id, before=before, client_ip=actor.ip)
        changed += 1
    return changed


def is_event_day(event: Event, today: date) -> bool:
    return event.event_date == today


def booking_number_of_item(event_id: int, item_id: int) -> str:
    number = db.session.scalar(
        select(Booking.booking_number)
        .join(BookingItem, BookingItem.booking_id == Booking.id)
        .where(BookingItem.id == item_id, Booking.event_id == event_id)
    )
    if number is None:
        raise NotFound("Child entry")
    return number


def describe_items(item_ids: list[int]) -> list[dict]:
    """Who a check-in admitted: child, game and slot time, for the answer on screen."""
    if not item_ids:
        return []
    rows = db.session.execute(
        select(BookingItem.id, Child.full_name, GameTemplate.name, GameSlot.start_time)
        .join(Child, Child.id == BookingItem.child_id)
        .join(GameSlot, GameSlot.id == BookingItem.slot_id)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
        .where(BookingItem.id.in_(item_ids))
        .order_by(GameSlot.start_time, BookingItem.id)
    ).all()
    return [{"item_id": r[0], "child": r[1], "game": r[2], "start_time": r[3]} for r in rows]

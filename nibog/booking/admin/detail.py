"""One booking as the dashboard's detail page shows it: items, add-ons, payments and refunds,
the messages sent about it, and its history.

Bookings keep no status table of their own: the history is put together from the booking's
own timestamps (made, confirmed, cancelled, expired, completed), the audit log (every staff
change, with who made it) and the payments' status history, in time order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from nibog.accounts.models import User
from nibog.booking.models import Booking, BookingAddon, BookingItem, PromoCode
from nibog.booking.serialize import item_rows
from nibog.catalog.models import Event, EventGame, GameSlot, GameTemplate, Venue
from nibog.core.audit import AuditLog
from nibog.core.errors import NotFound
from nibog.core.timeutil import as_utc
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.payments.models import Payment, PaymentStatusChange, Refund
from nibog.payments.refunds import refundable_amount


@dataclass
class HistoryEntry:
    at: datetime
    what: str  # a code the page translates: created, confirmed, ..., audit:<action>, payment
    detail: str = ""
    actor: str | None = None


@dataclass
class BookingDetail:
    booking: Booking
    event: Event
    venue: Venue | None
    user: User | None
    created_by: User | None
    promo_code: str | None
    items: list[dict] = field(default_factory=list)
    addons: list[BookingAddon] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    messages: list[NotificationLog] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def parent_name(self) -> str:
        return (self.user.full_name if self.user else None) or self.booking.guest_name or ""

    @property
    def parent_email(self) -> str | None:
        return (self.user.email if self.user else None) or self.booking.guest_email

    @property
    def parent_phone(self) -> str | None:
        return (self.user.phone if self.user else None) or self.booking.guest_phone

    @property
    def refundable(self) -> int:
        return sum(p["refundable"] for p in self.payments)


def booking_detail(booking_id: int) -> BookingDetail:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("Booking")
    event = db.session.get(Event, booking.event_id)
    detail = BookingDetail(
        booking=booking,
        event=event,
        venue=db.session.get(Venue, event.venue_id) if event.venue_id else None,
        user=db.session.get(User, booking.user_id) if booking.user_id else None,
        created_by=db.session.get(User, booking.created_by_id) if booking.created_by_id else None,
        promo_code=(
            db.session.scalar(select(PromoCode.code).where(PromoCode.id == booking.promo_code_id))
            if booking.promo_code_id
            else None
        ),
    )
    for item, child, slot, template in db.session.execute(
        item_rows()
        .where(BookingItem.booking_id == booking_id)
        .order_by(BookingItem.id)
    ):
        detail.items.append(
            {"item": item, "child": child, "slot": slot, "game": template.name,
             "event_game_id": slot.event_game_id}
        )
    detail.addons = list(
        db.session.scalars(
            select(BookingAddon).where(BookingAddon.booking_id == booking_id).order_by(BookingAddon.id)
        )
    )
    payments = list(
        db.session.scalars(select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.id))
    )
    refunds: dict[int, list[Refund]] = {p.id: [] for p in payments}
    if payments:
        for refund in db.session.scalars(
            select(Refund).where(Refund.payment_id.in_(list(refunds))).order_by(Refund.id)
        ):
            refunds[refund.payment_id].append(refund)
    detail.payments = [
        {"payment": p, "refunds": refunds[p.id], "refundable": refundable_amount(p)}
        for p in payments
    ]
    detail.messages = list(
        db.session.scalars(
            select(NotificationLog)
            .where(NotificationLog.booking_id == booking_id)
            .order_by(NotificationLog.id.desc())
        )
    )
    detail.history = _history(booking, [p.id for p in payments], [i["item"].id for i in detail.items])
    return detail


def _history(booking: Booking, payment_ids: list[int], item_ids: list[int]) -> list[HistoryEntry]:
    out = [HistoryEntry(booking.created_at, "created", booking.source)]
    for what, at in (
        ("confirmed", booking.confirmed_at),
        ("cancelled", booking.cancelled_at),
        ("expired", booking.expired_at),
        ("completed", booking.completed_at),
    ):
        if at is not None:
            out.append(HistoryEntry(at, what, booking.cancel_reason or "" if what == "cancelled" else ""))
    audit_filter = [(AuditLog.entity_type == "bookings") & (AuditLog.entity_id == str(booking.id))]
    if item_ids:
        audit_filter.append(
            (AuditLog.entity_type == "booking_items")
            & AuditLog.entity_id.in_([str(i) for i in item_ids])
        )
    for row, actor in db.session.execute(
        select(AuditLog, func.coalesce(User.full_name, User.email))
        .outerjoin(User, User.id == AuditLog.actor_id)
        .where(or_(*audit_filter))
        .order_by(AuditLog.id)
    ):
        out.append(HistoryEntry(row.created_at, f"audit:{row.action}", _audit_note(row), actor))
    if payment_ids:
        for change in db.session.scalars(
            select(PaymentStatusChange)
            .where(PaymentStatusChange.payment_id.in_(payment_ids))
            .order_by(PaymentStatusChange.id)
        ):
            out.append(
                HistoryEntry(
                    change.created_at,
                    "payment",
                    f"#{change.payment_id}: {change.from_status or '-'} → {change.to_status}"
                    + (f" ({change.note})" if change.note else ""),
                    change.source,
                )
            )
    out.sort(key=lambda e: as_utc(e.at))
    return out


def _audit_note(row: AuditLog) -> str:
    after: dict[str, Any] = row.after or {}
    before: dict[str, Any] = row.before or {}
    if "reason" in after:
        return str(after["reason"])
    changed = [
        f"{key}: {before.get(key)} → {after.get(key)}"
        for key in ("status", "slot_id", "attendance", "result_position")
        if key in after and before and before.get(key) != after.get(key)
    ]
    return "; ".join(changed)


def move_choices(detail: BookingDetail) -> dict[int, list[dict]]:
    """For each live, not checked-in item: the other slots of its event it could move to."""
    movable = [
        i for i in detail.items
        if i["item"].is_live and i["item"].checked_in_at is None
    ]
    if not movable or detail.booking.status not in ("pending_payment", "confirmed"):
        return {}
    slots = db.session.execute(
        select(GameSlot, GameTemplate.name)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
        .where(EventGame.event_id == detail.booking.event_id)
        .order_by(GameTemplate.name, GameSlot.start_time, GameSlot.id)
    ).all()
    return {
        i["item"].id: [
            {"slot": slot, "game": name, "free": slot.capacity - slot.booked_count}
            for slot, name in slots
            if slot.id != i["item"].slot_id
        ]
        for i in movable
    }

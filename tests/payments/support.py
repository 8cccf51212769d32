"""Payments test helpers: bookings built straight from models, and a simulated gateway.

Bookings are made with the models (a held ``pending_payment`` booking, its item, the slot's
``booked_count`` bumped) so these tests depend only on ``confirm_booking`` from the engine.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from nibog.booking.models import Booking, BookingItem
from nibog.booking.numbers import new_booking_number
from nibog.catalog.models import GameSlot
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.payments.gateways.sandbox import SandboxGateway
from nibog.payments.models import Payment, PaymentStatusChange
from tests.factories import ChildFactory, GameSlotFactory
from tests.helpers import auth_headers

PRICE = 79900


def make_booking(
    user=None,
    *,
    slot=None,
    total: int = PRICE,
    status: str = "pending_payment",
    hold_seconds: int = 900,
    guest_email: str | None = None,
) -> Booking:
    slot = slot or GameSlotFactory(capacity=5)
    slot = db.session.get(GameSlot, slot.id)
    event_id = _event_of(slot)
    child = ChildFactory(parent=user) if user is not None else ChildFactory()
    live = status in ("pending_payment", "confirmed")
    booking = Booking(
        booking_number=new_booking_number(),
        user_id=user.id if user is not None else None,
        guest_email=guest_email if user is None else None,
        guest_name="Guest Parent" if user is None else None,
        event_id=event_id,
        status=status,
        source="app",
        subtotal=total,
        total=total,
        hold_expires_at=utcnow() + timedelta(seconds=hold_seconds)
        if status == "pending_payment"
        else None,
        expired_at=utcnow() if status == "expired" else None,
    )
    db.session.add(booking)
    db.session.flush()
    db.session.add(
        BookingItem(
            booking_id=booking.id, child_id=child.id, slot_id=slot.id, price=total, is_live=live
        )
    )
    if live:
        slot.booked_count += 1
    db.session.commit()
    return booking


def _event_of(slot: GameSlot) -> int:
    from nibog.catalog.models import EventGame

    return db.session.get(EventGame, slot.event_game_id).event_id


def sandbox(app) -> SandboxGateway:
    return SandboxGateway(app.config)


def create_payment(client, user, booking, **extra):
    return client.post(
        "/api/payments/create",
        json={"booking_id": booking.id, **extra},
        headers=auth_headers(user) if user is not None else {},
    )


def open_payment(client, user, booking) -> dict:
    resp = create_payment(client, user, booking)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def confirm(client, user, payment_id: int, provider_payment_id: str, signature: str):
    return client.post(
        "/api/payments/confirm",
        json={
            "payment_id": payment_id,
            "provider_payment_id": provider_payment_id,
            "signature": signature,
        },
        headers=auth_headers(user) if user is not None else {},
    )


def post_webhook(client, body: bytes, headers: dict, route: str = "success"):
    return client.post(f"/webhooks/payment/{route}", data=body, headers=headers)


def webhook_for(app, event: str, entity: dict, refund: dict | None = None):
    return sandbox(app).signed_webhook(event, entity, refund)


def reload(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def transitions(payment_id: int, to_status: str | None = None) -> list[PaymentStatusChange]:
    stmt = select(PaymentStatusChange).where(
        PaymentStatusChange.payment_id == payment_id, PaymentStatusChange.refund_id.is_(None)
    )
    if to_status:
        stmt = stmt.where(PaymentStatusChange.to_status == to_status)
    db.session.expire_all()
    return list(db.session.scalars(stmt.order_by(PaymentStatusChange.id)))


def messages(template: str, booking_id: int | None = None) -> int:
    stmt = (
        select(func.count())
        .select_from(NotificationLog)
        .where(NotificationLog.template == template)
    )
    if booking_id is not None:
        stmt = stmt.where(NotificationLog.booking_id == booking_id)
    return db.session.scalar(stmt)


def payments_of(booking_id: int) -> list[Payment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.id)
        )
    )


def b64json(data: dict) -> str:
    import base64

    return base64.b64encode(json.dumps(data).encode()).decode()

"""Payments test helpers: bookings built straight from models, and a simulated gateway.

Bookings are made with ``tests.factories.make_booking`` (a held ``pending_payment`` booking, its
item, the slot's ``booked_count`` bumped) so these tests depend only on ``confirm_booking`` from
the engine.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from nibog.booking.models import Booking
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.payments.gateways.sandbox import SandboxGateway
from nibog.payments.models import Payment, PaymentStatusChange
from tests.factories import ChildFactory, GameSlotFactory
from tests.factories import make_booking as book
from tests.helpers import auth_headers
from tests.helpers import reload as reload  # the payments tests import it from here

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
    """A booking of a new child (a guest's when ``user`` is None) into ``slot``, holding its
    seat for ``hold_seconds`` while it waits for payment."""
    slot = slot or GameSlotFactory(capacity=5)
    child = ChildFactory(parent=user) if user is not None else ChildFactory()
    guest = {"guest_email": guest_email, "guest_name": "Guest Parent"} if user is None else {}
    return book(
        user, [(child, slot)], status=status, price=total,
        hold_expires_at=utcnow() + timedelta(seconds=hold_seconds)
        if status == "pending_payment" else None,
        **guest,
    )


def paid_on_a_second_order(client, app, user, booking) -> tuple[dict, dict]:
    """The first order's payment fails, a second order is opened and paid and confirmed: the
    two orders (the first can still be paid late)."""
    first = open_payment(client, user, booking)
    failed = sandbox(app).simulate_payment(first["provider_order_id"], outcome="failed")
    post_webhook(client, *webhook_for(app, "payment.failed", failed["payment"]), route="failure")
    second = open_payment(client, user, booking)
    paid = sandbox(app).simulate_payment(second["provider_order_id"])
    confirm(client, user, second["payment_id"], paid["payment"]["id"], paid["signature"])
    return first, second


def expire_hold(booking_id: int) -> None:
    """The hold-expiry sweep run an hour from now: the booking's hold is expired."""
    from nibog.booking.service import expire_holds
    from nibog.core import boundary

    assert expire_holds(now=utcnow() + timedelta(hours=1)) >= 1
    boundary.commit()
    assert reload(Booking, booking_id).status == "expired"


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

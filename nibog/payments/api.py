"""/api/payments: open an order, confirm it, read your payments, staff refunds."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from sqlalchemy import select

from nibog.booking import idempotency
from nibog.booking.access import held_booking
from nibog.booking.models import Booking
from nibog.core.audit import record
from nibog.core.auth import auth_required, current_user, current_user_id
from nibog.core.errors import NotFound
from nibog.core.pagination import PageArgsSchema, paginate
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db
from nibog.payments import schemas as s
from nibog.payments import service
from nibog.payments.gateways import get_gateway
from nibog.payments.models import Payment, Refund

blp = Blueprint(
    "payments", __name__, url_prefix="/api/payments", description="Payments and refunds"
)

STAFF_ROLES = ("admin", "staff")


def refund_to_dict(refund: Refund) -> dict:
    return {
        "id": refund.id,
        "payment_id": refund.payment_id,
        "amount": refund.amount,
        "status": refund.status,
        "reason": refund.reason,
        "provider_refund_id": refund.provider_refund_id,
        "created_at": isoformat_ist(refund.created_at),
        "processed_at": isoformat_ist(refund.processed_at),
    }


def payments_to_dicts(payments: list[Payment]) -> list[dict]:
    if not payments:
        return []
    ids = [p.id for p in payments]
    bookings = {
        b.id: b
        for b in db.session.scalars(
            select(Booking).where(Booking.id.in_({p.booking_id for p in payments}))
        )
    }
    refunds: dict[int, list[dict]] = {}
    for refund in db.session.scalars(
        select(Refund).where(Refund.payment_id.in_(ids)).order_by(Refund.id)
    ):
        refunds.setdefault(refund.payment_id, []).append(refund_to_dict(refund))
    return [payment_to_dict(p, bookings[p.booking_id], refunds.get(p.id, [])) for p in payments]


def payment_to_dict(p: Payment, booking: Booking, refunds: list[dict]) -> dict:
    return {
        "id": p.id,
        "booking_id": p.booking_id,
        "booking_number": booking.booking_number,
        "booking_status": booking.status,
        "provider": p.provider,
        "provider_order_id": p.provider_order_id,
        "provider_payment_id": p.provider_payment_id,
        "amount": p.amount,
        "amount_refunded": p.amount_refunded,
        "currency": p.currency,
        "status": p.status,
        "method": p.method,
        "failure_reason": p.failure_reason,
        "captured_at": isoformat_ist(p.captured_at),
        "created_at": isoformat_ist(p.created_at),
        "refunds": refunds,
    }


def _order_out(payment: Payment) -> dict:
    return {
        "payment_id": payment.id,
        "provider": payment.provider,
        "provider_order_id": payment.provider_order_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "checkout": (payment.raw or {}).get("checkout") or {},
    }


@blp.post("/create")
@auth_required(optional=True)
@blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}])
@blp.arguments(s.CreatePaymentIn)
@blp.response(201, s.CreatePaymentOut)
def create_payment(data: dict):
    """Open the gateway order for a booking awaiting payment (the amount is the booking's).

    Signed-in parents pay their own bookings; a guest booking is paid without a token by
    sending its ``access_code``. While an order is open, the same one is returned. Accepts an
    ``Idempotency-Key`` header.
    """
    # The token's version (checked in Redis with the token) vouches for the account, as for
    # the hold: the booking's read brings the payer's contact, no account row is loaded.
    user_id = current_user_id(optional=True)

    def produce():
        payment = service.create_payment(
            data["booking_id"], payer_id=user_id, access_code=data.get("access_code")
        )
        return _order_out(payment), 201

    return idempotency.respond(
        scope=f"user:{user_id}" if user_id is not None else "guest",
        key=request.headers.get("Idempotency-Key"),
        endpoint="payments.create",
        body=data,
        produce=produce,
    )


@blp.post("/confirm")
@auth_required(optional=True)
@blp.arguments(s.ConfirmPaymentIn)
@blp.response(200, s.PaymentOut)
def confirm_payment(data: dict):
    """Verify the gateway's signature on the server; on success the booking is confirmed.

    A bad signature is ``422 invalid_signature`` and changes nothing; confirming twice is
    harmless. For PhonePe (no client signature) the server asks PhonePe's status API instead.
    """
    payment, outcome = service.confirm_payment(
        data["payment_id"],
        user=current_user(optional=True),
        provider_payment_id=data.get("provider_payment_id"),
        signature=data.get("signature"),
    )
    if outcome == "captured":
        # Captured and confirmed by this request: the booking is locked and current in the
        # session (its number and status are loaded; no read), and an order that was open
        # until now has no refunds.
        booking = held_booking(payment.booking_id)
        if booking is not None:
            return payment_to_dict(payment, booking, [])
    return payments_to_dicts([payment])[0]


@blp.get("/methods")
@blp.response(200, s.MethodsOut)
def payment_methods():
    """Payment methods the configured gateway offers."""
    gateway = get_gateway()
    return {
        "provider": gateway.name,
        "currency": "INR",
        "methods": [{"code": m.code, "name": m.name} for m in gateway.methods()],
    }


@blp.get("/history")
@auth_required()
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, s.PaymentPage)
def payment_history(args: dict):
    """Your payments, newest first."""
    stmt = (
        select(Payment)
        .where(Payment.user_id == current_user().id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
    )
    return paginate(stmt, args["page"], args["per_page"], payments_to_dicts)


@blp.get("/<int:payment_id>")
@auth_required()
@blp.response(200, s.PaymentOut)
def get_payment(payment_id: int):
    """One of your payments (staff may read any)."""
    user = current_user()
    payment = db.session.get(Payment, payment_id)
    if payment is None or (payment.user_id != user.id and user.role not in STAFF_ROLES):
        raise NotFound("Payment")
    return payments_to_dicts([payment])[0]


@blp.post("/refund")
@auth_required(*STAFF_ROLES)
@blp.arguments(s.RefundIn)
@blp.response(201, s.RefundOut)
def refund_payment(data: dict):
    """Refund a payment in full (no ``amount``) or in part; never above what is left to refund.

    Money only: the booking stays as it is (parents and admins cancel bookings separately).
    """
    user = current_user()
    refund = service.refund_payment(
        data["payment_id"], data.get("amount"), reason=data["reason"], actor_id=user.id
    )
    record("payment.refund", refund, actor_id=user.id)
    return refund_to_dict(refund)

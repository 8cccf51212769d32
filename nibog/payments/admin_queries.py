"""Payments as the dashboard's money pages show them: the list, one payment with its gateway
history, staff refunds, and the reconciliation flags a person resolves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import exists, func, or_, select

from nibog.accounts.models import User
from nibog.booking.models import Booking
from nibog.core.audit import record, snapshot
from nibog.core.errors import AppError, Conflict, NotFound, ValidationFailed
from nibog.core.filters import where_equal
from nibog.core.timeutil import IST, utcnow
from nibog.extensions import db
from nibog.payments.models import Payment, PaymentFlag, PaymentStatusChange, Refund
from nibog.payments.refunds import refund_payment, refundable_amount

PAYMENT_SORTS = {
    "created": Payment.created_at,
    "amount": Payment.amount,
    "status": Payment.status,
    "captured": Payment.captured_at,
}
FLAG_SORTS = {"created": PaymentFlag.created_at, "kind": PaymentFlag.kind}


def _day_start(day) -> datetime:
    return datetime.combine(day, time(), IST)


def payment_rows(filters: dict):
    """Rows of (payment, booking number, booking status, open flags) for the payments list.

    ``filters``: q (booking number, the gateway's order or payment id), status, provider,
    date_from/date_to (the day it was opened, in India), flagged (only payments with an open
    flag), booking_id.
    """
    open_flags = (
        select(func.count())
        .select_from(PaymentFlag)
        .where(PaymentFlag.payment_id == Payment.id, PaymentFlag.resolved_at.is_(None))
        .scalar_subquery()
    )
    stmt = select(Payment, Booking.booking_number, Booking.status, open_flags.label("open_flags")) \
        .join(Booking, Booking.id == Payment.booking_id)
    stmt = where_equal(stmt, filters, {
        "status": Payment.status, "provider": Payment.provider, "booking_id": Payment.booking_id,
    })
    if filters.get("date_from"):
        stmt = stmt.where(Payment.created_at >= _day_start(filters["date_from"]))
    if filters.get("date_to"):
        stmt = stmt.where(Payment.created_at < _day_start(filters["date_to"] + timedelta(days=1)))
    if filters.get("flagged"):
        stmt = stmt.where(
            exists().where(PaymentFlag.payment_id == Payment.id, PaymentFlag.resolved_at.is_(None))
        )
    q = (filters.get("q") or "").strip()
    if q:
        stmt = stmt.where(
            or_(
                Booking.booking_number == q.upper(),
                Payment.provider_order_id == q,
                Payment.provider_payment_id == q,
            )
        )
    return stmt


@dataclass
class PaymentDetail:
    payment: Payment
    booking: Booking
    parent: User | None
    refunds: list[Refund] = field(default_factory=list)
    history: list[PaymentStatusChange] = field(default_factory=list)
    flags: list[PaymentFlag] = field(default_factory=list)
    refundable: int = 0


def payment_detail(payment_id: int) -> PaymentDetail:
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("Payment")
    booking = db.session.get(Booking, payment.booking_id)
    return PaymentDetail(
        payment=payment,
        booking=booking,
        parent=db.session.get(User, booking.user_id) if booking.user_id else None,
        refunds=list(db.session.scalars(
            select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id))),
        history=list(db.session.scalars(
            select(PaymentStatusChange)
            .where(PaymentStatusChange.payment_id == payment_id)
            .order_by(PaymentStatusChange.created_at, PaymentStatusChange.id))),
        flags=list(db.session.scalars(
            select(PaymentFlag).where(PaymentFlag.payment_id == payment_id)
            .order_by(PaymentFlag.id))),
        refundable=refundable_amount(payment),
    )


def refund_by_staff(
    payment_id: int, amount: int | None, *, reason: str, actor_id: int,
    client_ip: str | None = None,
) -> Refund:
    """A full (``amount`` None) or partial refund of one payment, audited. The booking stays
    as it is: cancelling is a separate decision (the booking page)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": ["Say why the money goes back"]})
    if amount is not None and amount <= 0:
        raise ValidationFailed({"amount": ["Enter an amount above zero"]})
    try:
        refund = refund_payment(payment_id, amount, reason=reason, actor_id=actor_id)
    except AppError as exc:
        if exc.code == "refund_exceeds_captured":
            raise ValidationFailed({"amount": [exc.message]}, exc.message) from None
        raise
    record("payment.refund", refund, actor_id=actor_id, client_ip=client_ip)
    return refund


def flag_rows(filters: dict):
    """Reconciliation flags with their payment and booking: open ones unless ``state`` says
    "resolved" or "all"; ``kind`` narrows them."""
    stmt = (
        select(PaymentFlag, Payment, Booking.booking_number)
        .join(Payment, Payment.id == PaymentFlag.payment_id)
        .join(Booking, Booking.id == Payment.booking_id)
    )
    state = filters.get("state") or "open"
    if state == "open":
        stmt = stmt.where(PaymentFlag.resolved_at.is_(None))
    elif state == "resolved":
        stmt = stmt.where(PaymentFlag.resolved_at.is_not(None))
    if filters.get("kind"):
        stmt = stmt.where(PaymentFlag.kind == filters["kind"])
    return stmt


def open_flag_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(PaymentFlag).where(PaymentFlag.resolved_at.is_(None))
    ) or 0


def resolve_flag(
    flag_id: int, *, resolution: str, actor_id: int, client_ip: str | None = None
) -> PaymentFlag:
    """A person looked at the flag and says what was done (refunded by hand, the gateway
    confirmed, nothing to do...). Resolving twice is refused: the first note stands."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationFailed({"resolution": ["Say what was done about it"]})
    row = db.session.scalar(
        select(PaymentFlag).where(PaymentFlag.id == flag_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound("Flag")
    if row.resolved_at is not None:
        raise Conflict("flag_resolved", "This flag was resolved already")
    before = snapshot(row)
    row.resolved_at = utcnow()
    row.resolved_by_id = actor_id
    row.resolution = resolution[:2000]
    db.session.flush()
    record("payment_flag.resolve", row, actor_id=actor_id, before=before, client_ip=client_ip)
    return row

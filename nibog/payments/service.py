"""Payments: orders, captures, failures and reconciliation (webhooks: ``events``).

Money rules (the old system broke each of these):
- the amount always comes from the booking, never from the client;
- nothing is trusted before its signature verifies, on the server;
- every capture path (client confirm, webhook, status poll) goes through ``apply_capture``, which
  locks the booking and then the payment row: whichever arrives first captures and confirms, the
  others find the work done - one capture, one confirmation, one message;
- a captured amount or currency that differs from the order never confirms anything;
- a capture that cannot confirm its booking (seats gone, booking cancelled, already paid) is
  refunded in full, automatically.
Lock order everywhere: booking, then payment, then slots (inside the booking engine).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from nibog.booking.access import access_code_matches
from nibog.booking.models import CONFIRMED_BOOKING_STATUSES, BookingStatus
from nibog.catalog.models import EventStatus
from nibog.core import signals
from nibog.core.errors import AppError, NotFound
from nibog.core.timeutil import as_utc, utcnow
from nibog.extensions import db
from nibog.payments import statements
from nibog.payments.gateways import GatewayError, get_gateway
from nibog.payments.gateways.base import PaymentInfo
from nibog.payments.history import flag, lock_booking, lock_payment, record
from nibog.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from nibog.payments.refunds import (  # noqa: F401 - the cross-team names live here
    LATE_PAYMENT_REASON,
    create_refund,
    mark_refund_failed,
    mark_refund_processed,
    refund_booking_payments,
    refund_payment,
)

log = logging.getLogger(__name__)

PAID_STATUSES = (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED)


def gateway_unavailable(exc: GatewayError) -> AppError:
    return AppError(
        "payment_gateway_error",
        "The payment gateway did not answer; nothing was charged twice, please retry",
        502 if exc.transient else 422,
    )


# -- create ------------------------------------------------------------------------------------
def _payable_booking(booking_id: int, *, payer_id: int | None, access_code: str | None):
    """The booking's row (``statements.payable``) if this caller may pay it now, else the error.

    ``payer_id``: the signed-in caller (None: a guest, who proves the booking with its code)."""
    booking = statements.payable(booking_id)
    if payer_id is not None:
        if booking is None or booking.user_id != payer_id:
            raise NotFound("Booking")
    elif (
        booking is None
        or booking.user_id is not None
        or not access_code_matches(booking, access_code)
    ):
        raise NotFound("Booking")
    if booking.status != BookingStatus.PENDING_PAYMENT:
        raise AppError(
            "booking_not_payable",
            f"Booking {booking.booking_number} is {booking.status} and cannot be paid",
            409,
            {"status": booking.status},
        )
    if booking.hold_expires_at is not None and as_utc(booking.hold_expires_at) <= utcnow():
        raise AppError(
            "hold_expired",
            "The seats hold has expired; please book again",
            409,
            {"status": "expired"},
        )
    if booking.total <= 0:
        raise AppError("booking_not_payable", "This booking has nothing to pay", 409)

    event_status = booking.event_status
    if event_status != EventStatus.PUBLISHED:
        # A hold that missed the cancellation's sweep: nothing to pay for (and a payment
        # would only be refunded, confirm_booking refuses it).
        raise AppError(
            "booking_not_payable",
            f"The event of booking {booking.booking_number} is {event_status}",
            409,
            {"event_status": event_status},
        )
    return booking


def _open_payment(booking_id: int) -> Payment | None:
    return db.session.scalars(
        select(Payment).where(Payment.booking_id == booking_id,
                              Payment.status == PaymentStatus.CREATED)
    ).first()


def create_payment(booking_id: int, *, payer_id: int | None,
                   access_code: str | None = None) -> Payment:
    """Open (or return the already open) gateway order for a booking awaiting payment.

    One read (the booking, its event's status, its contact and its open order) and, for a new
    order, one write (the order and its history row): ``payments.statements``."""
    booking = _payable_booking(booking_id, payer_id=payer_id, access_code=access_code)
    existing = statements.open_order(booking)
    if existing is not None:
        return existing
    gateway = get_gateway()
    signed_in = booking.user_id is not None
    customer = {
        "name": booking.user_name if signed_in else booking.guest_name,
        # An account's address, else the one a guest booked with (a guest has no account row).
        "email": booking.user_email or booking.guest_email,
        "phone": (booking.user_phone if signed_in else booking.guest_phone) or "",
        "description": booking.booking_number,
        "merchant_user_id": f"U{booking.user_id}" if signed_in else "GUEST",
    }
    # The network call happens before anything is locked or written.
    try:
        order = gateway.create_order(
            reference=booking.booking_number,
            amount=booking.total,
            currency=booking.currency,
            customer=customer,
            expires_at=booking.hold_expires_at,
        )
    except GatewayError as exc:
        log.warning("gateway create_order failed", extra={"booking_id": booking.id})
        raise gateway_unavailable(exc) from exc
    values = {
        "booking_id": booking.id,
        "user_id": booking.user_id,
        "provider": gateway.name,
        "provider_order_id": order.provider_order_id,
        "amount": booking.total,
        "currency": booking.currency,
        "status": PaymentStatus.CREATED,
        "raw": {"order": order.raw, "checkout": order.checkout},
    }
    payment = statements.insert_open_order(values, source="api", note=f"order {order.provider_order_id}")
    if payment is None:
        # A parallel request opened one first (partial unique index): that one is the answer;
        # the extra gateway order is never paid and is harmless.
        payment = _open_payment(booking.id)
        if payment is None:
            raise RuntimeError(f"booking {booking.id}: open order conflict, and none is open")
    return payment


# -- capture / failure -------------------------------------------------------------------------
def confirm_payment(
    payment_id: int,
    *,
    user,
    provider_payment_id: str | None,
    signature: str | None,
    check_owner: bool = True,
    source: str = "api",
) -> tuple[Payment, str]:
    """The client's "I paid": verified on the server, then the shared capture path.

    Returns the payment and what was done (``apply_outcome``'s answer; ``already_captured``
    for a repeated confirmation). ``captured``: this call captured the order and confirmed the
    booking, so the booking is locked and current in the session and the payment, open until
    now, has no refunds. ``check_owner=False`` is for the pages that play the parent's browser
    (the gateway's return page, the sandbox checkout)."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or (
        check_owner and payment.user_id is not None and (user is None or user.id != payment.user_id)
    ):
        raise NotFound("Payment")
    gateway = get_gateway(payment.provider)
    if gateway.client_signature:
        missing = {
            name: ["Missing data for required field."]
            for name, value in (
                ("provider_payment_id", provider_payment_id),
                ("signature", signature),
            )
            if not value
        }
        if missing:
            raise AppError("validation_error", "Invalid input", 422, missing)
        if not gateway.verify_payment_signature(
            payment.provider_order_id, provider_payment_id, signature
        ):
            raise AppError(
                "invalid_signature",
                "The payment signature does not verify",
                422,
                {"signature": ["does not match this order and payment"]},
            )
        if payment.status in PAID_STATUSES and payment.provider_payment_id == provider_payment_id:
            return payment, "already_captured"  # confirming twice is harmless
    try:
        info = gateway.fetch_payment(payment.provider_order_id, provider_payment_id)
    except GatewayError as exc:
        raise gateway_unavailable(exc) from exc
    outcome = apply_outcome(payment.id, info, source=source)
    db.session.flush()
    # lock_payment loaded the locked row into this same identity: `payment` is current.
    return payment, outcome


def apply_outcome(payment_id: int, info: PaymentInfo, *, source: str) -> str:
    if info.status == "captured":
        return apply_capture(payment_id, info, source=source)
    if info.status == "failed":
        return apply_failure(payment_id, info, source=source)
    return "pending"


def apply_capture(payment_id: int, info: PaymentInfo, *, source: str) -> str:
    unlocked = db.session.get(Payment, payment_id)
    booking = lock_booking(unlocked.booking_id)
    payment = lock_payment(payment_id)
    if payment.status in PAID_STATUSES:
        if info.provider_payment_id in (None, payment.provider_payment_id):
            return "already_captured"
        flag(payment, source, f"second capture {info.provider_payment_id} on a paid order",
             kind="duplicate_capture")
        return "duplicate_capture_flagged"
    currency = (info.currency or "").upper()
    if info.amount != payment.amount or currency != payment.currency:
        flag(
            payment,
            source,
            f"amount_mismatch: gateway {info.amount} {currency or '?'} "
            f"({info.provider_payment_id}), order {payment.amount} {payment.currency}",
            kind="amount_mismatch",
        )
        payment.failure_reason = "amount_mismatch"
        return "amount_mismatch"
    statements.capture(payment, provider_payment_id=info.provider_payment_id,
                       method=(info.method or "")[:30] or None, captured_at=utcnow(),
                       source=source, note=f"payment {info.provider_payment_id}")
    return _confirm_booking_or_refund(payment, booking, source)


def _confirm_booking_or_refund(payment: Payment, booking, source: str) -> str:
    if booking.status in CONFIRMED_BOOKING_STATUSES:
        # Paid already (another order, or cash at the desk): this money goes back.
        create_refund(
            payment,
            payment.amount,
            reason="duplicate payment for a paid booking",
            actor_id=None,
            source=source,
        )
        return "duplicate_payment_refunded"
    try:
        with db.session.begin_nested():
            signals.announce_payment_captured(booking.id, source="payment")
    except AppError as exc:
        # Seats gone after the hold expired (SeatsNoLongerAvailable), or the booking was
        # cancelled while the parent was paying: nothing to sell, so the money goes back.
        # The parent hears of it once, when the refund is paid out (refunds._notify_refund).
        create_refund(
            payment,
            payment.amount,
            reason=f"{LATE_PAYMENT_REASON} ({exc.code})",
            actor_id=None,
            source=source,
        )
        # Refunded by itself, but a parent paid and has no booking: support may want to call
        # them (another slot, another date), so it waits on the reconciliation list.
        flag(payment, source, f"late_payment: paid after the seats were gone ({exc.code}); "
             "refunded in full", kind="late_payment")
        return "late_payment_refunded"
    return "captured"


def apply_failure(payment_id: int, info: PaymentInfo, *, source: str) -> str:
    unlocked = db.session.get(Payment, payment_id)
    lock_booking(unlocked.booking_id)
    payment = lock_payment(payment_id)
    if payment.status != PaymentStatus.CREATED:
        # A failed attempt reported after a capture (out of order) never un-captures.
        return f"ignored_{payment.status}"
    payment.status = PaymentStatus.FAILED
    payment.failure_reason = (info.failure_reason or "payment failed")[:500]
    record(payment, PaymentStatus.CREATED, source=source, note=payment.failure_reason)
    db.session.flush()
    return "failed"


# -- reconciliation ----------------------------------------------------------------------------
def reconcile_payment(payment_id: int, *, source: str = "reconcile") -> str:
    """Ask the gateway what happened to an open order and apply it (the status poll)."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.status != PaymentStatus.CREATED:
        return "not_open"
    info = get_gateway(payment.provider).fetch_payment(payment.provider_order_id, None)
    # Take the locks (booking, then payment) before writing anything: an early UPDATE of the
    # payment row would hold its lock while waiting for the booking's - a deadlock with a
    # capture arriving at the same moment.
    booking = lock_booking(payment.booking_id)
    payment = lock_payment(payment_id)
    payment.last_checked_at = utcnow()
    if info.status != "pending":
        return apply_outcome(payment.id, info, source=source)
    if payment.status == PaymentStatus.CREATED and booking.status != BookingStatus.PENDING_PAYMENT:
        # Nothing was paid and the booking moved on: close the order. Should money still
        # arrive later, the capture path confirms or refunds it.
        info.failure_reason = f"abandoned: booking {booking.status}, nothing paid"
        return apply_failure(payment.id, info, source=source)
    return "pending"


def stuck_payment_ids(now=None, limit: int = 100) -> list[int]:
    now = now or utcnow()
    minutes = int(current_app.config.get("STUCK_PAYMENT_MINUTES", 20))
    cutoff = now - timedelta(minutes=minutes)
    recheck = now - timedelta(minutes=max(1, minutes // 4))
    return list(
        db.session.scalars(
            select(Payment.id)
            .where(
                Payment.status == PaymentStatus.CREATED,
                Payment.created_at < cutoff,
                (Payment.last_checked_at.is_(None)) | (Payment.last_checked_at < recheck),
                # A capture of the wrong amount is flagged once and left to support: asking
                # the gateway again only flags it again, every few minutes, for ever.
                Payment.failure_reason.is_distinct_from("amount_mismatch"),
            )
            .order_by(Payment.created_at)
            .limit(limit)
        )
    )


def _pending_refund_ids(accepted: bool, older_than: timedelta, now, limit: int) -> list[int]:
    """Pending refunds the gateway has (or has not) ``accepted``, older than ``older_than``."""
    cutoff = (now or utcnow()) - older_than
    has_id = Refund.provider_refund_id.is_not(None) if accepted else Refund.provider_refund_id.is_(None)
    return list(db.session.scalars(
        select(Refund.id)
        .where(Refund.status == RefundStatus.PENDING, has_id, Refund.created_at < cutoff)
        .order_by(Refund.id)
        .limit(limit)
    ))


def stale_refund_ids(now=None, limit: int = 100) -> list[int]:
    """Pending refunds the gateway never accepted (every retry failed): try them again."""
    return _pending_refund_ids(False, timedelta(minutes=10), now, limit)


def awaiting_refund_ids(now=None, limit: int = 100) -> list[int]:
    """Refunds the gateway accepted but has not reported paid out for a while: ask it."""
    return _pending_refund_ids(True, timedelta(minutes=30), now, limit)

"""Row locks and the status history every payment and refund transition writes."""

from __future__ import annotations

import logging

from sqlalchemy import select

from nibog.accounts.models import User
from nibog.booking.access import lock_booking  # noqa: F401 - the engine's booking lock
from nibog.booking.models import Booking
from nibog.core import locking, metrics
from nibog.core.errors import NotFound
from nibog.extensions import db
from nibog.payments.models import Payment, PaymentFlag, PaymentStatusChange, Refund

log = logging.getLogger(__name__)

FLAG_PREFIX = "FLAG: "


def lock_payment(payment_id: int) -> Payment:
    # populate_existing: after waiting for the lock we must see the winner's committed state,
    # not the copy this session loaded before it queued.
    payment = db.session.scalars(
        locking.for_update(select(Payment).where(Payment.id == payment_id), "payment_lock")
        .execution_options(populate_existing=True)
    ).one_or_none()
    if payment is None:
        raise NotFound("Payment")
    locking.pause("payment_read")
    return payment


def record(
    payment: Payment,
    from_status: str | None,
    *,
    source: str,
    to_status: str | None = None,
    refund: Refund | None = None,
    note: str = "",
) -> PaymentStatusChange:
    if to_status is None:
        to_status = refund.status if refund is not None else payment.status
    change = PaymentStatusChange(
        payment_id=payment.id,
        refund_id=refund.id if refund is not None else None,
        from_status=from_status,
        to_status=to_status,
        source=source[:20],
        note=note[:2000],
    )
    db.session.add(change)
    if refund is not None:
        metrics.count_after_commit(metrics.REFUNDS.labels(to_status))
        if to_status == "processed":
            metrics.count_after_commit(metrics.REFUND_PAISE, refund.amount)
    elif to_status != from_status:
        metrics.payment_changed(payment.provider, to_status)
    return change


def flag(payment: Payment, source: str, note: str, *, kind: str = "other") -> PaymentFlag:
    """Something support must look at (money that does not add up). Never silently dropped:
    it stays on the dashboard's reconciliation list until a person resolves it."""
    log.error("payment flagged for support", extra={"payment_id": payment.id, "note": note})
    metrics.count_after_commit(metrics.PAYMENT_FLAGS.labels(payment.provider))
    record(payment, payment.status, source=source, note=FLAG_PREFIX + note)
    raw = dict(payment.raw or {})
    raw["flags"] = [*raw.get("flags", []), note[:500]]
    payment.raw = raw
    row = PaymentFlag(payment_id=payment.id, kind=kind, note=note[:2000])
    db.session.add(row)
    return row


def booking_contact(booking_id: int):
    """The booking and the address its messages go to (the account's, or the guest's)."""
    booking = db.session.get(Booking, booking_id)
    email = booking.guest_email
    if booking.user_id is not None:
        user = db.session.get(User, booking.user_id)
        email = (user.email if user is not None else None) or email
    return booking, email

"""Refunds: reserved on the payment in the caller's transaction, sent to the gateway by a job.

A refund row is created ``pending`` and its amount is added to ``payment.amount_refunded`` at
once, so two refunds racing for the same money cannot both pass the "never above what was
captured" check (the payment row is locked while it is checked). The gateway call happens in
the ``process_refund`` job (below) after the commit; if the gateway finally refuses, the
reservation is given back.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from nibog.core.errors import AppError, NotFound
from nibog.core.jobs import job
from nibog.core.timeutil import as_utc, utcnow
from nibog.extensions import db
from nibog.notifications.service import queue_email
from nibog.payments.gateways import GatewayError, get_gateway
from nibog.payments.history import booking_contact, flag, lock_booking, lock_payment, record
from nibog.payments.models import Payment, PaymentStatus, Refund, RefundStatus

log = logging.getLogger(__name__)

REFUNDABLE_STATUSES = (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED)


# The reason of a refund made because the payment came after its booking's seats were gone.
LATE_PAYMENT_REASON = "payment arrived too late"


def refundable_amount(payment: Payment) -> int:
    if payment.status not in REFUNDABLE_STATUSES:
        return 0
    return payment.amount - payment.amount_refunded


def refundable_total(booking_id: int) -> int:
    """What a booking's captured payments can still give back (no lock: for a preview)."""
    payments = db.session.scalars(
        select(Payment).where(Payment.booking_id == booking_id,
                              Payment.status.in_(REFUNDABLE_STATUSES))
    )
    return sum(refundable_amount(p) for p in payments)


def at_most_refundable(booking, amount: int) -> int:
    """``amount``, but no more than the booking's online payments can still give back (staff
    may have refunded some); cash goes back at the desk, unbounded here."""
    if amount and booking.payment_mode == "online":
        return min(amount, refundable_total(booking.id))
    return amount


def _settle_status(payment: Payment) -> str:
    if payment.amount_refunded <= 0:
        return PaymentStatus.CAPTURED
    if payment.amount_refunded >= payment.amount:
        return PaymentStatus.REFUNDED
    return PaymentStatus.PARTIALLY_REFUNDED


def create_refund(
    payment: Payment, amount: int, *, reason: str, actor_id: int | None, source: str
) -> Refund:
    """Reserve ``amount`` on a payment the caller has locked, and queue the gateway call."""
    if amount <= 0 or amount > refundable_amount(payment):
        raise AppError(
            "refund_exceeds_captured",
            f"At most {refundable_amount(payment)} paise can be refunded on this payment",
            422,
            {"amount": [f"must be between 1 and {refundable_amount(payment)}"]},
        )
    refund = Refund(
        payment_id=payment.id,
        amount=amount,
        status=RefundStatus.PENDING,
        reason=reason or "",
        requested_by_id=actor_id,
    )
    db.session.add(refund)
    db.session.flush()
    before = payment.status
    payment.amount_refunded += amount
    payment.status = _settle_status(payment)
    record(payment, before, source=source, note=f"refund #{refund.id} of {amount} requested")
    record(payment, None, source=source, refund=refund, note=reason or "")
    process_refund.delay(refund.id)
    return refund


def refund_payment(
    payment_id: int, amount: int | None, *, reason: str, actor_id: int | None, source: str = "admin"
) -> Refund:
    """Staff refund of a payment, full (``amount`` None) or partial."""
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("Payment")
    # Lock order everywhere: booking, then its payments, so refunds never deadlock captures.
    lock_booking(payment.booking_id)
    payment = lock_payment(payment_id)
    if payment.status not in REFUNDABLE_STATUSES or refundable_amount(payment) <= 0:
        raise AppError(
            "payment_not_refundable",
            f"Payment {payment.id} is {payment.status}; nothing can be refunded",
            409,
            {"status": payment.status},
        )
    return create_refund(
        payment,
        refundable_amount(payment) if amount is None else amount,
        reason=reason,
        actor_id=actor_id,
        source=source,
    )


def refund_booking_payments(
    booking_id: int, amount: int, *, reason: str, actor_id: int | None
) -> list[Refund]:
    """Refund up to ``amount`` across a booking's captured payments (never above what was paid).

    Called by the booking engine inside its transaction (it holds the booking lock); the gateway
    calls run in jobs after that transaction commits.
    """
    if amount <= 0:
        return []
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.booking_id == booking_id, Payment.status.in_(REFUNDABLE_STATUSES))
        .order_by(Payment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    refunds: list[Refund] = []
    remaining = amount
    for payment in payments:
        take = min(remaining, refundable_amount(payment))
        if take <= 0:
            continue
        refunds.append(
            create_refund(payment, take, reason=reason, actor_id=actor_id, source="booking")
        )
        remaining -= take
        if remaining == 0:
            break
    if remaining > 0:
        log.warning(
            "refund capped at captured amount",
            extra={"booking_id": booking_id, "asked": amount, "not_refunded": remaining},
        )
    return refunds


def mark_refund_processed(refund: Refund, provider_refund_id: str | None, *, source: str) -> bool:
    """The gateway paid the refund out. Returns False when it was already recorded."""
    if refund.status == RefundStatus.PROCESSED:
        return False
    # Lock booking then payment before inserting rows that reference them: those inserts take
    # key-share locks, and taking them in another order deadlocks with a refund or capture
    # that holds the booking and waits for the payment.
    payment = db.session.get(Payment, refund.payment_id)
    lock_booking(payment.booking_id)
    payment = lock_payment(payment.id)
    before = refund.status
    if before == RefundStatus.FAILED:
        # Marked failed (its amount given back to the payment), then paid out after all -
        # the gateway changed its mind: the money is gone, count it again.
        settled = payment.status
        payment.amount_refunded += refund.amount
        if payment.amount_refunded > payment.amount:
            payment.amount_refunded = payment.amount
            flag(payment, source, f"refund #{refund.id} paid out after it had failed, and the "
                 "payment's refunds now exceed what was captured", kind="refund_failed")
        payment.status = _settle_status(payment)
        record(payment, settled, source=source, note=f"refund #{refund.id} paid out after failing")
    refund.status = RefundStatus.PROCESSED
    refund.provider_refund_id = provider_refund_id or refund.provider_refund_id
    refund.processed_at = utcnow()
    record(payment, before, to_status=RefundStatus.PROCESSED, source=source, refund=refund)
    _notify_refund(payment, refund)
    return True


def mark_refund_failed(refund: Refund, note: str, *, source: str) -> bool:
    """The gateway refused for good: give the reservation back and flag it for support."""
    if refund.status != RefundStatus.PENDING:
        return False
    payment = db.session.get(Payment, refund.payment_id)
    lock_booking(payment.booking_id)
    payment = lock_payment(payment.id)
    refund.status = RefundStatus.FAILED
    record(payment, RefundStatus.PENDING, to_status=RefundStatus.FAILED, source=source,
           refund=refund, note=note)
    before = payment.status
    payment.amount_refunded -= refund.amount
    payment.status = _settle_status(payment)
    record(payment, before, source=source, note=f"refund #{refund.id} failed: {note}")
    flag(payment, source, f"refund #{refund.id} of {refund.amount} failed at the gateway: {note}",
         kind="refund_failed")
    return True


def _notify_refund(payment: Payment, refund: Refund) -> None:
    """One e-mail per refund, once the gateway has paid it out. A late payment's refund says why
    the money came back (the parent never got a booking for it) instead of only that it did."""
    booking, email = booking_contact(payment.booking_id)
    if email:
        late = refund.reason.startswith(LATE_PAYMENT_REASON)
        queue_email(
            "late_payment_refunded" if late else "refund_processed",
            email,
            # The booking (number, links) is read from `booking_id` at send time, and the amount
            # written in the reader's language then (`build_context`).
            {"amount": refund.amount},
            user_id=booking.user_id,
            booking_id=booking.id,
        )


# --- the gateway calls, in jobs after the commit --------------------------------------------


def refund_reference(refund: Refund) -> str:
    # Stable across retries (the gateway de-duplicates on it) and unique across databases.
    return f"NBR{refund.id}T{int(as_utc(refund.created_at).timestamp())}"


class RefundBusy(RuntimeError):
    """Raised so RQ retries a refund whose row another transaction holds right now."""


@job("payments", retries=5)
def process_refund(refund_id: int) -> str:
    return send_refund(refund_id)


# The jobs' bodies are plain functions: mutation testing (mutmut) skips decorated functions.
def send_refund(refund_id: int) -> str:
    """Send a pending refund to its gateway, once: ``process_refund``'s work."""
    # SKIP LOCKED: a second worker running the same job finds the row busy and leaves; the row
    # stays locked across the gateway call so the refund can never be sent twice at once.
    refund = db.session.scalars(
        select(Refund)
        .where(Refund.id == refund_id, Refund.status == "pending")
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if refund is None:
        still_pending = db.session.scalar(
            select(Refund.id).where(Refund.id == refund_id, Refund.status == "pending")
        )
        if still_pending is not None:
            # Busy, not done: a webhook settling a sibling refund locks them all for a moment.
            # Try again shortly (RQ's backoff) rather than leave it to the half-hourly sweep.
            raise RefundBusy(f"refund {refund_id} is locked by another transaction")
        return "nothing_to_do"
    payment = db.session.get(Payment, refund.payment_id)
    try:
        result = get_gateway(payment.provider).refund(
            provider_order_id=payment.provider_order_id,
            provider_payment_id=payment.provider_payment_id,
            amount=refund.amount,
            reference=refund_reference(refund),
        )
    except GatewayError as exc:
        if exc.transient:
            log.warning("refund gateway call failed; will retry", extra={"refund_id": refund_id})
            raise  # RQ retries with backoff; the reconcile sweep picks up what is left
        mark_refund_failed(refund, str(exc), source="job")
        return "failed"
    if result.status == "processed":
        mark_refund_processed(refund, result.provider_refund_id, source="job")
    elif result.status == "failed":
        refund.provider_refund_id = result.provider_refund_id
        mark_refund_failed(refund, "gateway refused the refund", source="job")
    else:
        # Accepted, paid out later: the refund webhook (or callback) finishes it.
        refund.provider_refund_id = result.provider_refund_id
    return result.status


@job("payments", retries=3)
def check_refund(refund_id: int) -> str:
    return ask_about_refund(refund_id)


def ask_about_refund(refund_id: int) -> str:
    """Ask the gateway about a refund it accepted but has not reported as paid out:
    ``check_refund``'s work."""
    refund = db.session.scalars(
        select(Refund)
        .where(
            Refund.id == refund_id,
            Refund.status == "pending",
            Refund.provider_refund_id.is_not(None),
        )
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if refund is None:
        return "nothing_to_do"
    payment = db.session.get(Payment, refund.payment_id)
    result = get_gateway(payment.provider).refund_status(
        provider_payment_id=payment.provider_payment_id,
        provider_refund_id=refund.provider_refund_id,
        reference=refund_reference(refund),
    )
    if result.status == "processed":
        mark_refund_processed(refund, result.provider_refund_id, source="reconcile")
    elif result.status == "failed":
        mark_refund_failed(refund, "gateway reports the refund failed", source="reconcile")
    return result.status

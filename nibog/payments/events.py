"""Gateway events (webhooks and S2S callbacks): verified, de-duplicated, applied once.

The event row is inserted first under the (provider, event_id) unique constraint: a replay, or
the same delivery racing itself, finds the row and stops. The event then goes through the same
capture / failure / refund code as every other path (``nibog.payments.service``).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nibog.core.errors import AppError
from nibog.extensions import db
from nibog.payments.gateways import InvalidSignature
from nibog.payments.gateways.base import Gateway, GatewayEvent, MalformedEvent, PaymentInfo
from nibog.payments.history import flag, lock_booking, lock_payment
from nibog.payments.models import Payment, Refund, WebhookEvent
from nibog.payments.refunds import mark_refund_failed, mark_refund_processed, refund_reference
from nibog.payments.service import apply_outcome

log = logging.getLogger(__name__)


def handle_webhook(gateway: Gateway, raw_body: bytes, headers) -> dict:
    """Verify, de-duplicate and apply one gateway event. The caller commits."""
    try:
        event = gateway.parse_webhook(raw_body, headers)
    except InvalidSignature as exc:
        raise AppError("invalid_signature", "Webhook signature does not verify", 401) from exc
    except MalformedEvent as exc:
        raise AppError("bad_request", str(exc), 400) from exc
    row = WebhookEvent(
        provider=gateway.name,
        event_id=event.event_id[:200],
        event_type=event.event_type[:60],
        payload=event.payload,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return {"status": "duplicate", "event_id": event.event_id}
    row.result = _apply_event(gateway, event)
    row.processed = True
    return {"status": "processed", "event_id": event.event_id, "result": row.result}


def _apply_event(gateway: Gateway, event: GatewayEvent) -> str:
    if event.kind == "ignored":
        return "ignored"
    if event.kind.startswith("refund_"):
        return _apply_refund_event(gateway, event)
    payment = db.session.scalars(
        select(Payment).where(
            Payment.provider == gateway.name, Payment.provider_order_id == event.provider_order_id
        )
    ).one_or_none()
    if payment is None:
        # Never invent a booking for money we cannot match: support reconciles it by hand.
        log.error("webhook for an unknown order", extra={"order": event.provider_order_id})
        return "unknown_order"
    info = PaymentInfo(
        status="captured" if event.kind == "payment_captured" else "failed",
        provider_payment_id=event.provider_payment_id,
        amount=event.amount,
        currency=event.currency,
        method=event.method,
        failure_reason=event.failure_reason,
    )
    return apply_outcome(payment.id, info, source="webhook")


def _refund_by_reference(reference: str) -> Refund | None:
    try:
        refund_id = int(reference[3:].split("T", 1)[0])
    except ValueError:
        return None
    refund = db.session.scalars(
        select(Refund)
        .where(Refund.id == refund_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    # The reference also carries the creation time: a reused id from another database misses.
    return refund if refund is not None and refund_reference(refund) == reference else None


def _apply_refund_event(gateway: Gateway, event: GatewayEvent) -> str:
    if event.refund_reference:
        refund = _refund_by_reference(event.refund_reference)
        if refund is None:
            log.error("refund callback for an unknown reference", extra={"event": event.event_id})
            return "unknown_refund"
        return _settle_refund(refund, event)
    payment = db.session.scalars(
        select(Payment).where(
            Payment.provider == gateway.name,
            Payment.provider_payment_id == event.provider_payment_id,
        )
    ).one_or_none()
    if payment is None:
        log.error("refund webhook for an unknown payment", extra={"event": event.event_id})
        return "unknown_payment"
    # Ours by gateway id, or (webhook faster than our job's commit) the pending one of that
    # amount. Every refund of the payment is locked and matched here, not in the WHERE: a refund
    # job that holds its row across the gateway call commits the gateway id while this waits,
    # and a WHERE on that id (or on its absence) would be judged on the row as it was.
    refunds = db.session.scalars(
        select(Refund)
        .where(Refund.payment_id == payment.id)
        .order_by(Refund.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    refund = next((r for r in refunds if r.provider_refund_id == event.provider_refund_id), None)
    if refund is None:
        refund = next(
            (r for r in refunds
             if r.provider_refund_id is None and r.status == "pending" and r.amount == event.amount),
            None,
        )
    if refund is None:
        lock_booking(payment.booking_id)
        payment = lock_payment(payment.id)
        flag(payment, "webhook", f"gateway refund {event.provider_refund_id} we did not request")
        return "unknown_refund"
    return _settle_refund(refund, event)


def _settle_refund(refund: Refund, event: GatewayEvent) -> str:
    if event.kind == "refund_failed":
        return (
            "refund_failed" if mark_refund_failed(refund, "gateway", source="webhook") else "noop"
        )
    if mark_refund_processed(refund, event.provider_refund_id, source="webhook"):
        return "refund_processed"
    return "already_processed"

"""How PhonePe Standard Checkout v2 answers are read: status states, event names, the webhook's
authorization, the order's lifetime (``phonepe_v2`` makes the calls)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nibog.core.timeutil import as_utc, utcnow
from nibog.payments.gateways.base import GatewayError, PaymentInfo, RefundResult

# PhonePe's bounds for expireAfter (seconds).
MIN_EXPIRE_AFTER, MAX_EXPIRE_AFTER = 300, 3600

# Codes PhonePe documents as "may still go through; check the status before retrying".
AMBIGUOUS_CODES = frozenset(
    {"INTERNAL_SERVER_ERROR", "TIMED_OUT", "PAYMENT_PENDING", "PENDING", "REQUEST_TIMEOUT"}
)
ORDER_EVENTS = {
    "checkout.order.completed",
    "checkout.order.failed",
    "pg.order.completed",
    "pg.order.failed",
}
REFUND_EVENTS = {"pg.refund.accepted", "pg.refund.completed", "pg.refund.failed"}
# The deprecated ``type`` field, for a sender that does not yet fill ``event``.
TYPE_TO_EVENT = {
    "CHECKOUT_ORDER_COMPLETED": "checkout.order.completed",
    "CHECKOUT_ORDER_FAILED": "checkout.order.failed",
    "PG_ORDER_COMPLETED": "pg.order.completed",
    "PG_ORDER_FAILED": "pg.order.failed",
    "PG_REFUND_ACCEPTED": "pg.refund.accepted",
    "PG_REFUND_COMPLETED": "pg.refund.completed",
    "PG_REFUND_FAILED": "pg.refund.failed",
}


class Ambiguous(GatewayError):
    """PhonePe may or may not have acted: only a status check can tell."""


class NotFound(GatewayError):
    """PhonePe has no such order or refund."""

    def __init__(self, message: str, raw: Any = None):
        super().__init__(message, transient=False, raw=raw)


def webhook_authorization(username: str, password: str) -> str:
    return hashlib.sha256(f"{username}:{password}".encode()).hexdigest()


def expire_after(hold_expires_at: datetime | None, default: int) -> int:
    """Seconds PhonePe keeps the order open: the hold's remaining time, within PhonePe's bounds.

    A hold with less than five minutes left still gets PhonePe's minimum; money that arrives
    after the hold lapsed is refunded by the capture path (``late_payment_refunded``).
    """
    seconds = default
    if hold_expires_at is not None:
        seconds = int((as_utc(hold_expires_at) - utcnow()).total_seconds())
    return max(MIN_EXPIRE_AFTER, min(MAX_EXPIRE_AFTER, seconds))


def _state_status(state: str | None, *, done: str) -> str:
    if state == "COMPLETED":
        return done
    if state == "FAILED":
        return "failed"
    return "pending"


def payment_info(body: Mapping[str, Any]) -> PaymentInfo:
    """A status answer (or webhook payload) of an order, as the services read it."""
    status = _state_status(body.get("state"), done="captured")
    attempts = body.get("paymentDetails") or []
    # The attempt that settled the order; with details=false PhonePe sends only the latest.
    attempt = next((a for a in attempts if a.get("state") == body.get("state")), None) or (
        attempts[-1] if attempts else {}
    )
    return PaymentInfo(
        status=status,
        provider_payment_id=attempt.get("transactionId") or None,
        amount=body.get("amount"),
        currency="INR",  # PhonePe settles in rupees only; amounts are paise
        method=(attempt.get("paymentMode") or "").lower() or None,
        failure_reason=(
            None
            if status != "failed"
            else (body.get("errorCode") or attempt.get("errorCode") or "payment failed")
        ),
        raw=dict(body),
    )


def refund_result(body: Mapping[str, Any]) -> RefundResult:
    return RefundResult(
        body.get("refundId") or None,
        _state_status(body.get("state"), done="processed"),
        dict(body),
    )

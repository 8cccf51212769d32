"""Payment jobs: gateway refund calls (retried) and the stuck-payment reconciliation sweep.

Jobs take ids, load fresh state and are safe to run twice; the job runner commits.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from nibog.core import boundary
from nibog.core.jobs import job
from nibog.core.timeutil import as_utc
from nibog.extensions import db
from nibog.payments.gateways import GatewayError, get_gateway
from nibog.payments.models import Payment, Refund, RefundStatus

log = logging.getLogger(__name__)


def refund_reference(refund: Refund) -> str:
    # Stable across retries (the gateway de-duplicates on it) and unique across databases.
    return f"NBR{refund.id}T{int(as_utc(refund.created_at).timestamp())}"


class RefundBusy(RuntimeError):
    """Raised so RQ retries a refund whose row another transaction holds right now."""


@job("payments", retries=5)
def process_refund(refund_id: int) -> str:
    from nibog.payments.refunds import mark_refund_failed, mark_refund_processed

    # SKIP LOCKED: a second worker running the same job finds the row busy and leaves; the row
    # stays locked across the gateway call so the refund can never be sent twice at once.
    refund = db.session.scalars(
        select(Refund)
        .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if refund is None:
        still_pending = db.session.scalar(
            select(Refund.id).where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
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
    """Ask the gateway about a refund it accepted but has not reported as paid out."""
    from nibog.payments.refunds import mark_refund_failed, mark_refund_processed

    refund = db.session.scalars(
        select(Refund)
        .where(
            Refund.id == refund_id,
            Refund.status == RefundStatus.PENDING,
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


def reconcile_stuck_payments() -> dict:
    """Periodic: settle orders left ``created`` (callback lost, app closed) and stuck refunds."""
    from nibog.payments.service import (
        awaiting_refund_ids,
        reconcile_payment,
        stale_refund_ids,
        stuck_payment_ids,
    )

    results: dict[str, int] = {}
    for payment_id in stuck_payment_ids():
        try:
            with boundary.unit_of_work():
                outcome = reconcile_payment(payment_id)
        except GatewayError:
            outcome = "gateway_error"
        except Exception:  # noqa: BLE001 - one bad row must not stop the sweep
            log.exception("reconcile failed", extra={"payment_id": payment_id})
            outcome = "error"
        results[outcome] = results.get(outcome, 0) + 1
    refund_ids = stale_refund_ids()
    for refund_id in refund_ids:
        process_refund.delay(refund_id)
    awaiting = awaiting_refund_ids()
    for refund_id in awaiting:
        check_refund.delay(refund_id)
    if refund_ids:
        results["refunds_retried"] = len(refund_ids)
    if awaiting:
        results["refunds_checked"] = len(awaiting)
    return results

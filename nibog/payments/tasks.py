"""Payment jobs: the stuck-payment reconciliation sweep. The gateway refund jobs live beside the
refunds that queue them (``payments/refunds.py``); their old names here keep outbox rows and RQ
retries queued before the move working.

Jobs take ids, load fresh state and are safe to run twice; the job runner commits.
"""

from __future__ import annotations

import logging

from nibog.core import boundary
from nibog.payments.gateways import GatewayError
from nibog.payments.refunds import (  # noqa: F401 - the jobs' old names (queued rows)
    RefundBusy,
    check_refund,
    process_refund,
    refund_reference,
)
from nibog.payments.service import (
    awaiting_refund_ids,
    reconcile_payment,
    stale_refund_ids,
    stuck_payment_ids,
)

log = logging.getLogger(__name__)


def reconcile_stuck_payments() -> dict:
    """Periodic: settle orders left ``created`` (callback lost, app closed) and stuck refunds."""
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

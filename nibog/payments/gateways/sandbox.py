"""An offline, Razorpay-compatible simulator (the default gateway).

Same ids (``order_…``, ``pay_…``, ``rfnd_…``), the same checkout and webhook signatures, the same
webhook bodies - so clients and tests exercise the real verification code - and no network.
What a real gateway would remember (orders and their outcome) lives in Redis when there is one,
else in process memory, so the status check used by reconciliation has something to answer.
"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from nibog.extensions import get_redis
from nibog.payments.gateways.base import GatewayError, OrderResult, PaymentInfo, RefundResult
from nibog.payments.gateways.razorpay import (
    RazorpayGateway,
    order_signature,
    pick_order_outcome,
    webhook_signature,
)

_ALPHABET = string.ascii_letters + string.digits
_MEMORY: dict[str, str] = {}
_TTL_SECONDS = 7 * 24 * 3600


def new_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(14))


def _redis():
    from flask import has_app_context


    return get_redis() if has_app_context() else None


def _load(order_id: str) -> dict | None:
    conn = _redis()
    raw = conn.get(f"sandbox:order:{order_id}") if conn is not None else _MEMORY.get(order_id)
    return json.loads(raw) if raw else None


def _save(order: dict) -> None:
    raw = json.dumps(order)
    conn = _redis()
    if conn is not None:
        conn.set(f"sandbox:order:{order['id']}", raw, ex=_TTL_SECONDS)
    else:
        _MEMORY[order["id"]] = raw


class SandboxGateway(RazorpayGateway):
    name = "sandbox"

    def checkout(self, order_id, amount, currency, customer) -> dict:
        data = super().checkout(order_id, amount, currency, customer)
        base = self.config.get("PUBLIC_BASE_URL", "").rstrip("/")
        data.update(type="sandbox", checkout_url=f"{base}/payments/sandbox/checkout/{order_id}")
        return data

    def create_order(
        self, *, reference, amount, currency, customer, expires_at=None
    ) -> OrderResult:
        order = {
            "id": new_id("order"),
            "amount": amount,
            "currency": currency,
            "receipt": reference,
            "status": "created",
            "payments": [],
        }
        _save(order)
        return OrderResult(
            order["id"],
            self.checkout(order["id"], amount, currency, customer),
            {k: order[k] for k in ("id", "amount", "currency", "receipt", "status")},
        )

    def fetch_payment(self, provider_order_id, provider_payment_id) -> PaymentInfo:
        order = _load(provider_order_id)
        if order is None:
            return PaymentInfo(status="pending")
        attempts = [
            PaymentInfo(
                status=p["status"],
                provider_payment_id=p["id"],
                amount=p["amount"],
                currency=p["currency"],
                method=p["method"],
                failure_reason=p.get("error_description"),
                raw=p,
            )
            for p in order["payments"]
            if provider_payment_id is None or p["id"] == provider_payment_id
        ]
        if provider_payment_id and not attempts:
            # Only reachable with a correctly signed id the simulator never issued (a client
            # that signs locally with the dev secret): the order's own terms apply.
            return PaymentInfo(
                status="captured",
                provider_payment_id=provider_payment_id,
                amount=order["amount"],
                currency=order["currency"],
            )

        return pick_order_outcome(attempts)

    def refund(self, *, provider_order_id, provider_payment_id, amount, reference) -> RefundResult:
        order = _load(provider_order_id)
        if order is not None:
            paid = sum(p["amount"] for p in order["payments"] if p["status"] == "captured")
            refunded = sum(r["amount"] for r in order.setdefault("refunds", []))
            # No recorded capture: a client signed locally (see fetch_payment); the order's terms.
            paid = paid or order["amount"]
            if refunded + amount > paid:
                raise GatewayError("sandbox: refund exceeds the captured amount", transient=False)
            order["refunds"].append({"id": new_id("rfnd"), "amount": amount, "receipt": reference})
            _save(order)
            refund_id = order["refunds"][-1]["id"]
        else:
            refund_id = new_id("rfnd")
        return RefundResult(
            refund_id,
            "processed",
            {
                "id": refund_id,
                "amount": amount,
                "payment_id": provider_payment_id,
                "status": "processed",
            },
        )

    def refund_status(self, *, provider_payment_id, provider_refund_id, reference) -> RefundResult:
        return RefundResult(provider_refund_id, "processed", {"id": provider_refund_id})

    # -- the simulated customer and gateway (checkout page, tests) ------------------------
    def simulate_payment(
        self,
        provider_order_id: str,
        *,
        outcome: str = "captured",
        method: str = "upi",
        amount: int | None = None,
        currency: str | None = None,
    ) -> dict[str, Any]:
        """The customer pays (or fails): what the gateway would hand back to the client."""
        order = _load(provider_order_id) or {
            "id": provider_order_id,
            "amount": amount,
            "currency": currency or "INR",
            "status": "created",
            "payments": [],
        }
        payment = {
            "id": new_id("pay"),
            "entity": "payment",
            "order_id": provider_order_id,
            "amount": amount if amount is not None else order["amount"],
            "currency": currency or order["currency"],
            "status": outcome,
            "method": method,
        }
        if outcome == "failed":
            payment["error_description"] = "Payment was declined by the customer's bank"
        order["payments"].append(payment)
        if outcome == "captured":
            order["status"] = "paid"
        _save(order)
        return {
            "payment": payment,
            "signature": order_signature(provider_order_id, payment["id"], self.key_secret),
        }

    def signed_webhook(self, event: str, entity: dict, refund: dict | None = None):
        """A webhook body and headers exactly as Razorpay would send them."""
        payload: dict[str, Any] = {"payment": {"entity": entity}}
        if refund is not None:
            payload["refund"] = {"entity": refund}
        body = json.dumps({"entity": "event", "event": event, "payload": payload}).encode()
        headers = {
            "X-Razorpay-Signature": webhook_signature(body, self.webhook_secret),
            "X-Razorpay-Event-Id": new_id("evt"),
            "Content-Type": "application/json",
        }
        return body, headers

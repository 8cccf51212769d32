"""Razorpay through its documented HTTP API (orders, payments, refunds, webhooks).

Signatures (https://razorpay.com/docs/payments/server-integration/):
- checkout: hex HMAC-SHA256 of ``"{order_id}|{payment_id}"`` keyed with the key secret;
- webhooks: hex HMAC-SHA256 of the raw request body keyed with the webhook secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from nibog.payments.gateways.base import (
    Gateway,
    GatewayError,
    GatewayEvent,
    InvalidSignature,
    MalformedEvent,
    OrderResult,
    PaymentInfo,
    RefundResult,
    call_json,
    constant_time_equal,
)

API_BASE = "https://api.razorpay.com/v1"
TIMEOUT_SECONDS = 15

_EVENT_KINDS = {
    "payment.captured": "payment_captured",
    "order.paid": "payment_captured",
    "payment.failed": "payment_failed",
    "refund.processed": "refund_processed",
    "refund.failed": "refund_failed",
}


def order_signature(order_id: str, payment_id: str, key_secret: str) -> str:
    message = f"{order_id}|{payment_id}".encode()
    return hmac.new(key_secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_signature(raw_body: bytes, webhook_secret: str) -> str:
    return hmac.new(webhook_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def payment_info_from_entity(entity: Mapping[str, Any]) -> PaymentInfo:
    # "authorized" is not money in the bank yet: it is captured (automatically or by us) or
    # released by Razorpay later, so it stays pending here.
    status = {"captured": "captured", "failed": "failed"}.get(entity.get("status"), "pending")
    if entity.get("status") in ("refunded",):
        status = "captured"  # it was captured once; refunds are tracked on our side
    return PaymentInfo(
        status=status,
        provider_payment_id=entity.get("id"),
        amount=entity.get("amount"),
        currency=entity.get("currency"),
        method=entity.get("method"),
        failure_reason=entity.get("error_description") or entity.get("error_reason"),
        raw=dict(entity),
    )


class RazorpayGateway(Gateway):
    name = "razorpay"

    @property
    def key_id(self) -> str:
        return self.config["RAZORPAY_KEY_ID"]

    @property
    def key_secret(self) -> str:
        return self.config["RAZORPAY_KEY_SECRET"]

    @property
    def webhook_secret(self) -> str:
        return self.config["RAZORPAY_WEBHOOK_SECRET"]

    # -- HTTP ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        resp, data = call_json("razorpay", method, f"{API_BASE}{path}", json=body,
                               auth=(self.key_id, self.key_secret), timeout=TIMEOUT_SECONDS)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise GatewayError(f"razorpay {resp.status_code}", raw=data)
        if resp.status_code >= 400:
            message = (data.get("error") or {}).get("description") or f"HTTP {resp.status_code}"
            raise GatewayError(f"razorpay refused: {message}", transient=False, raw=data)
        return data

    # -- interface -------------------------------------------------------------------------
    def checkout(self, order_id: str, amount: int, currency: str, customer: dict) -> dict:
        return {
            "type": "razorpay",
            "key_id": self.key_id,
            "order_id": order_id,
            "amount": amount,
            "currency": currency,
            "name": "NIBOG",
            "description": customer.get("description", ""),
            "prefill": {
                "name": customer.get("name") or "",
                "email": customer.get("email") or "",
                "contact": customer.get("phone") or "",
            },
        }

    def create_order(
        self, *, reference, amount, currency, customer, expires_at=None
    ) -> OrderResult:
        data = self._call(
            "POST",
            "/orders",
            {
                "amount": amount,
                "currency": currency,
                "receipt": reference,
                "notes": {"booking": customer.get("description", "")},
            },
        )
        if data.get("amount") != amount or data.get("currency") != currency:
            raise GatewayError(
                "razorpay order does not match the request", transient=False, raw=data
            )
        return OrderResult(data["id"], self.checkout(data["id"], amount, currency, customer), data)

    def verify_payment_signature(self, provider_order_id, provider_payment_id, signature) -> bool:
        # No secret configured (production leaves these empty when Razorpay is not set up):
        # an HMAC under an empty key is anyone's to compute, so nothing verifies.
        if not self.key_secret:
            return False
        expected = order_signature(provider_order_id, provider_payment_id, self.key_secret)
        return constant_time_equal(expected, signature)

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        signature = headers.get("X-Razorpay-Signature")
        if not self.webhook_secret or not constant_time_equal(
            webhook_signature(raw_body, self.webhook_secret), signature
        ):
            raise InvalidSignature("X-Razorpay-Signature does not match the body")
        try:
            body = json.loads(raw_body)
            event_type = str(body["event"])
            payload = body.get("payload") or {}
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedEvent("signed body is not a Razorpay event") from exc
        event_id = headers.get("X-Razorpay-Event-Id") or (
            "sha256:" + hashlib.sha256(raw_body).hexdigest()
        )
        payment = ((payload.get("payment") or {}).get("entity")) or {}
        refund = ((payload.get("refund") or {}).get("entity")) or {}
        kind = _EVENT_KINDS.get(event_type, "ignored")
        event = GatewayEvent(
            event_id=event_id,
            event_type=event_type,
            kind=kind,
            payload=body,
            provider_order_id=payment.get("order_id"),
            provider_payment_id=payment.get("id"),
            amount=payment.get("amount"),
            currency=payment.get("currency"),
            method=payment.get("method"),
            failure_reason=payment.get("error_description"),
        )
        if kind.startswith("refund_"):
            event.provider_refund_id = refund.get("id")
            event.provider_payment_id = refund.get("payment_id") or event.provider_payment_id
            event.amount = refund.get("amount", event.amount)
        return event

    def fetch_payment(self, provider_order_id, provider_payment_id) -> PaymentInfo:
        if provider_payment_id:
            entity = self._call("GET", f"/payments/{provider_payment_id}")
            if entity.get("order_id") != provider_order_id:
                # A valid payment of some other order never pays this one (nor fails it).
                return PaymentInfo(
                    status="pending", failure_reason="payment belongs to another order", raw=entity
                )
            return payment_info_from_entity(entity)
        items = self._call("GET", f"/orders/{provider_order_id}/payments").get("items") or []
        return pick_order_outcome([payment_info_from_entity(item) for item in items])

    def refund(self, *, provider_order_id, provider_payment_id, amount, reference) -> RefundResult:
        # A retry after a crash between Razorpay's answer and our commit must not refund twice:
        # look for a refund already carrying this receipt first.
        existing = self._call("GET", f"/payments/{provider_payment_id}/refunds").get("items") or []
        data = next((item for item in existing if item.get("receipt") == reference), None)
        if data is None:
            data = self._call(
                "POST",
                f"/payments/{provider_payment_id}/refund",
                {"amount": amount, "receipt": reference, "notes": {"reference": reference}},
            )
        return _refund_result(data)

    def refund_status(self, *, provider_payment_id, provider_refund_id, reference) -> RefundResult:
        return _refund_result(
            self._call("GET", f"/payments/{provider_payment_id}/refunds/{provider_refund_id}")
        )


def _refund_result(data: dict) -> RefundResult:
    status = {"processed": "processed", "failed": "failed"}.get(data.get("status"), "pending")
    return RefundResult(data.get("id"), status, data)


def pick_order_outcome(attempts: list[PaymentInfo]) -> PaymentInfo:
    """An order may have several attempts: one capture wins; all failed means failed."""
    for info in attempts:
        if info.status == "captured":
            return info
    if attempts and all(info.status == "failed" for info in attempts):
        return attempts[-1]
    return PaymentInfo(status="pending")

"""PhonePe PG standard checkout (pay page, S2S callback, status API, refunds).

Every request carries ``X-VERIFY = sha256(<base64 payload> + <api path> + salt_key) + "###" +
salt_index`` computed here on the server (never in a browser). The server-to-server callback
posts ``{"response": <base64>}`` with ``X-VERIFY = sha256(response + salt_key) + "###" +
salt_index``, verified before anything in it is read. PhonePe has no client-side signature: after
the redirect the server asks the status API, which is also what reconciliation uses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

from nibog.payments.gateways.base import (
    GatewayError,
    GatewayEvent,
    InvalidSignature,
    MalformedEvent,
    OrderResult,
    PaymentInfo,
    RedirectGateway,
    RefundResult,
    call_json,
    constant_time_equal,
)

HOSTS = {
    "uat": "https://api-preprod.phonepe.com/apis/pg-sandbox",
    "production": "https://api.phonepe.com/apis/hermes",
}
PAY_PATH = "/pg/v1/pay"
REFUND_PATH = "/pg/v1/refund"
TIMEOUT_SECONDS = 15
REFUND_PREFIX = "NBR"  # nibog.payments.tasks.refund_reference

_FAILED_CODES = {
    "PAYMENT_ERROR",
    "PAYMENT_DECLINED",
    "AUTHORIZATION_FAILED",
    "TRANSACTION_NOT_FOUND",
}
# PhonePe: "the refund might get initiated, check the status before retrying" - never a failure.
AMBIGUOUS_CODES = {"INTERNAL_SERVER_ERROR", "TIMED_OUT", "PAYMENT_PENDING"}


class RefundUnknown(GatewayError):
    """The status API does not know a refund reference (transient: it may appear later)."""


def encode_payload(payload: dict) -> str:
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def request_checksum(base64_payload: str, api_path: str, salt_key: str, salt_index: str) -> str:
    digest = hashlib.sha256((base64_payload + api_path + salt_key).encode()).hexdigest()
    return f"{digest}###{salt_index}"


def callback_checksum(base64_response: str, salt_key: str, salt_index: str) -> str:
    digest = hashlib.sha256((base64_response + salt_key).encode()).hexdigest()
    return f"{digest}###{salt_index}"


def payment_info_from_response(body: Mapping[str, Any]) -> PaymentInfo:
    data = body.get("data") or {}
    code = body.get("code")
    state = data.get("state")
    if code == "PAYMENT_SUCCESS" and state in (None, "COMPLETED"):
        status = "captured"
    elif code in _FAILED_CODES or state == "FAILED":
        status = "failed"
    else:
        status = "pending"
    return PaymentInfo(
        status=status,
        provider_payment_id=data.get("transactionId"),
        amount=data.get("amount"),
        currency="INR",  # PhonePe settles in rupees only; amounts are paise
        method=((data.get("paymentInstrument") or {}).get("type") or "").lower() or None,
        failure_reason=None if status != "failed" else (body.get("message") or code),
        raw=dict(body),
    )


class PhonePeGateway(RedirectGateway):
    name = "phonepe"

    @property
    def merchant_id(self) -> str:
        return self.config["PHONEPE_MERCHANT_ID"]

    @property
    def salt_key(self) -> str:
        return self.config["PHONEPE_SALT_KEY"]

    @property
    def salt_index(self) -> str:
        return str(self.config["PHONEPE_SALT_INDEX"])

    @property
    def host(self) -> str:
        return HOSTS.get(self.config.get("PHONEPE_ENV", "uat"), HOSTS["uat"])

    def _call(self, method: str, path: str, *, headers: dict, body: dict | None = None) -> dict:
        resp, data = call_json(
            "phonepe", method, self.host + path, json=body, timeout=TIMEOUT_SECONDS,
            headers={"Content-Type": "application/json", **headers},
        )
        if (
            resp.status_code >= 500
            or resp.status_code == 429
            or (resp.status_code >= 400 and data.get("code") in AMBIGUOUS_CODES)
        ):
            raise GatewayError(f"phonepe {resp.status_code} {data.get('code') or ''}", raw=data)
        if resp.status_code >= 400 and data.get("code") not in _FAILED_CODES:
            raise GatewayError(
                f"phonepe refused: {data.get('code') or resp.status_code}",
                transient=False,
                raw=data,
            )
        return data

    def _post_signed(self, path: str, payload: dict) -> dict:
        encoded = encode_payload(payload)
        checksum = request_checksum(encoded, path, self.salt_key, self.salt_index)
        return self._call("POST", path, headers={"X-VERIFY": checksum}, body={"request": encoded})

    # -- interface -------------------------------------------------------------------------
    def create_order(
        self, *, reference, amount, currency, customer, expires_at=None
    ) -> OrderResult:
        if currency != "INR":
            raise GatewayError("PhonePe accepts INR only", transient=False)
        merchant_txn = "NBT" + secrets.token_hex(12).upper()
        payload = {
            "merchantId": self.merchant_id,
            "merchantTransactionId": merchant_txn,
            "merchantUserId": customer.get("merchant_user_id") or "GUEST",
            "amount": amount,
            "redirectUrl": self.public_url(f"/payments/phonepe/return/{merchant_txn}"),
            "redirectMode": "POST",
            "callbackUrl": self.public_url("/webhooks/payment/phonepe"),
            "paymentInstrument": {"type": "PAY_PAGE"},
        }
        if customer.get("phone"):
            payload["mobileNumber"] = customer["phone"].removeprefix("+91")[-10:]
        data = self._post_signed(PAY_PATH, payload)
        redirect = ((data.get("data") or {}).get("instrumentResponse") or {}).get(
            "redirectInfo"
        ) or {}
        if not data.get("success") or not redirect.get("url"):
            raise GatewayError(
                f"phonepe did not start the payment: {data.get('code')}", transient=False, raw=data
            )
        checkout = {
            "type": "redirect",
            "redirect_url": redirect["url"],
            "method": redirect.get("method", "GET"),
            "merchant_transaction_id": merchant_txn,
        }
        return OrderResult(merchant_txn, checkout, data)

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        try:
            encoded = json.loads(raw_body)["response"]
            if not isinstance(encoded, str):
                raise TypeError
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidSignature("callback body has no base64 response") from exc
        expected = callback_checksum(encoded, self.salt_key, self.salt_index)
        # Without a salt key (PhonePe not set up) the checksum is anyone's to compute.
        if not self.salt_key or not constant_time_equal(expected, headers.get("X-VERIFY")):
            raise InvalidSignature("X-VERIFY does not match the response")
        try:
            body = json.loads(base64.b64decode(encoded, validate=True))
        except ValueError as exc:
            raise MalformedEvent("signed response is not base64 JSON") from exc
        info = payment_info_from_response(body)
        data = body.get("data") or {}
        reference = str(data.get("merchantTransactionId") or "")
        if reference.startswith(REFUND_PREFIX):
            # The callback of one of our refunds (its own transaction, our reference).
            kind = {"captured": "refund_processed", "failed": "refund_failed"}.get(
                info.status, "ignored"
            )
            return GatewayEvent(
                event_id=f"{reference}:{data.get('transactionId')}:{body.get('code')}",
                event_type=str(body.get("code")),
                kind=kind,
                payload=body,
                provider_refund_id=info.provider_payment_id,
                refund_reference=reference,
                amount=info.amount,
            )
        kind = {"captured": "payment_captured", "failed": "payment_failed"}.get(
            info.status, "ignored"
        )
        return GatewayEvent(
            event_id=f"{data.get('merchantTransactionId')}:{data.get('transactionId')}:"
            f"{body.get('code')}",
            event_type=str(body.get("code")),
            kind=kind,
            payload=body,
            provider_order_id=data.get("merchantTransactionId"),
            provider_payment_id=info.provider_payment_id,
            amount=info.amount,
            currency=info.currency,
            method=info.method,
            failure_reason=info.failure_reason,
        )

    def fetch_payment(self, provider_order_id, provider_payment_id) -> PaymentInfo:
        path = f"/pg/v1/status/{self.merchant_id}/{provider_order_id}"
        checksum = request_checksum("", path, self.salt_key, self.salt_index)
        data = self._call(
            "GET", path, headers={"X-VERIFY": checksum, "X-MERCHANT-ID": self.merchant_id}
        )
        return payment_info_from_response(data)

    def refund(self, *, provider_order_id, provider_payment_id, amount, reference) -> RefundResult:
        # The refund's own merchantTransactionId is our stable reference: PhonePe refuses a
        # duplicate, so a retried job cannot refund twice.
        try:
            data = self._post_signed(
                REFUND_PATH, self._refund_payload(provider_order_id, amount, reference)
            )
        except GatewayError as exc:
            if exc.transient:
                # Timeout or 5xx: placed or not, nobody knows. Retried with the same reference,
                # which PhonePe refuses as a duplicate if the first one did go through.
                raise
            # Refused - perhaps as a duplicate of a refund an earlier attempt already placed.
            try:
                existing = self.refund_status(
                    provider_payment_id=provider_payment_id,
                    provider_refund_id=None,
                    reference=reference,
                )
            except RefundUnknown:
                raise exc from None  # no earlier refund: the refusal is the answer
            if existing.status == "failed":
                raise
            return existing
        result = _refund_result(data)
        if data.get("code") in AMBIGUOUS_CODES and result.provider_refund_id is None:
            # Accepted-or-not without an id to follow: ask the status API for our reference.
            looked_up = self.refund_status(
                provider_payment_id=provider_payment_id, provider_refund_id=None,
                reference=reference,
            )
            if looked_up.status != "failed":
                return looked_up
        return result

    def _refund_payload(self, provider_order_id: str, amount: int, reference: str) -> dict:
        return {
            "merchantId": self.merchant_id,
            "merchantUserId": "NIBOG",
            "originalTransactionId": provider_order_id,
            "merchantTransactionId": reference,
            "amount": amount,
            "callbackUrl": self.public_url("/webhooks/payment/phonepe"),
        }

    def refund_status(self, *, provider_payment_id, provider_refund_id, reference) -> RefundResult:
        # A refund is a transaction of its own: the status API answers for its reference.
        path = f"/pg/v1/status/{self.merchant_id}/{reference}"
        checksum = request_checksum("", path, self.salt_key, self.salt_index)
        data = self._call(
            "GET", path, headers={"X-VERIFY": checksum, "X-MERCHANT-ID": self.merchant_id}
        )
        if data.get("code") == "TRANSACTION_NOT_FOUND":
            # Not (yet) known to PhonePe: no proof it failed; the job tries the refund again
            # with this same reference (a duplicate is refused), the reservation stays.
            raise RefundUnknown("phonepe does not know this refund yet", raw=data)
        result = _refund_result(data)
        result.provider_refund_id = result.provider_refund_id or provider_refund_id
        return result


def _refund_result(data: dict) -> RefundResult:
    code = data.get("code")
    state = (data.get("data") or {}).get("state")
    if code == "PAYMENT_SUCCESS" and state in (None, "COMPLETED"):
        status = "processed"
    elif code in AMBIGUOUS_CODES or state == "PENDING":
        status = "pending"
    elif code in _FAILED_CODES or state == "FAILED" or not data.get("success", True):
        status = "failed"
    else:
        status = "pending"
    return RefundResult((data.get("data") or {}).get("transactionId"), status, data)

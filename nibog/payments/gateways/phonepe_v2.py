"""PhonePe Standard Checkout v2 (``PHONEPE_API=v2``, what PhonePe onboards merchants on today).

- Every call carries ``Authorization: O-Bearer <token>``, the token from ``/v1/oauth/token``
  (``client_id``, ``client_version``, ``client_secret``), cached until shortly before its
  ``expires_at`` (``phonepe_auth``).
- ``POST /checkout/v2/pay`` opens an order under our ``merchantOrderId`` (amount in paise,
  ``expireAfter`` = what is left of the booking's hold) and answers a ``redirectUrl``.
- ``GET /checkout/v2/order/{merchantOrderId}/status``: the order's ``state`` (``PENDING``,
  ``COMPLETED``, ``FAILED``), what the return page and reconciliation rely on.
- ``POST /payments/v2/refund`` under our ``merchantRefundId`` (the refund reference, so a retry
  can never refund twice), ``GET /payments/v2/refund/{merchantRefundId}/status``.
- Webhooks: ``{"event": ..., "payload": {...}}`` with ``Authorization: sha256(username:password)``
  of the pair configured on PhonePe's dashboard; only ``payload.state`` decides the outcome.

An ambiguous answer (timeout, 5xx, ``PENDING``, ``INTERNAL_SERVER_ERROR``, ``TIMED_OUT``...) is
never read as a failure: the gateway asks the status API, and if that cannot say either it raises
a transient ``GatewayError`` so the caller retries with the same ids. For the pay call the status
check decides between sending it again under the same ``merchantOrderId`` (PhonePe has no such
order) and a transient error (PhonePe opened an order whose pay page was lost: no one can pay it).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from typing import Any

import requests

from nibog.extensions import get_redis
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
from nibog.payments.gateways.phonepe_auth import AccessToken, TokenCache
from nibog.payments.gateways.phonepe_v2_answers import (  # noqa: F401 - read as phonepe_v2.*
    AMBIGUOUS_CODES,
    MAX_EXPIRE_AFTER,
    MIN_EXPIRE_AFTER,
    ORDER_EVENTS,
    REFUND_EVENTS,
    TYPE_TO_EVENT,
    Ambiguous,
    NotFound,
    expire_after,
    payment_info,
    refund_result,
    webhook_authorization,
)

log = logging.getLogger(__name__)

HOSTS = {
    # (OAuth host, payments host)
    "uat": (
        "https://api-preprod.phonepe.com/apis/pg-sandbox",
        "https://api-preprod.phonepe.com/apis/pg-sandbox",
    ),
    "production": (
        "https://api.phonepe.com/apis/identity-manager",
        "https://api.phonepe.com/apis/pg",
    ),
}
TOKEN_PATH = "/v1/oauth/token"
PAY_PATH = "/checkout/v2/pay"
ORDER_STATUS_PATH = "/checkout/v2/order/{order_id}/status"
REFUND_PATH = "/payments/v2/refund"
REFUND_STATUS_PATH = "/payments/v2/refund/{refund_id}/status"
TIMEOUT_SECONDS = 15

class PhonePeV2Gateway(RedirectGateway):
    name = "phonepe"

    def __init__(self, config: Mapping[str, Any], redis=None):
        super().__init__(config)
        if redis is None:
            from flask import has_app_context


            redis = get_redis() if has_app_context() else None
        env = config.get("PHONEPE_ENV", "uat")
        self.auth_host, self.host = HOSTS.get(env, HOSTS["uat"])
        self.tokens = TokenCache(f"{env}:{config.get('PHONEPE_CLIENT_ID', '')}", redis)

    # -- transport ---------------------------------------------------------------------------
    def _fetch_token(self) -> AccessToken:
        cfg = self.config
        if not (cfg.get("PHONEPE_CLIENT_ID") and cfg.get("PHONEPE_CLIENT_SECRET")):
            raise GatewayError("PhonePe v2 is not configured", transient=False)
        try:
            resp = requests.post(
                self.auth_host + TOKEN_PATH,
                data={
                    "client_id": cfg["PHONEPE_CLIENT_ID"],
                    "client_version": str(cfg.get("PHONEPE_CLIENT_VERSION") or "1"),
                    "client_secret": cfg["PHONEPE_CLIENT_SECRET"],
                    "grant_type": "client_credentials",
                },
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise GatewayError(f"phonepe auth unreachable: {exc.__class__.__name__}") from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise GatewayError(f"phonepe auth {resp.status_code}")
        try:
            body = resp.json()
            token = AccessToken(
                str(body["access_token"]), str(body.get("token_type") or "O-Bearer"),
                float(body["expires_at"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise GatewayError(
                f"phonepe refused the client credentials ({resp.status_code})", transient=False
            ) from exc
        return token

    def _call(self, method: str, path: str, *, body: dict | None = None) -> dict:
        """One authorised call. Raises ``Ambiguous``, ``NotFound`` or ``GatewayError``."""
        for attempt in (1, 2):
            token = self.tokens.get(self._fetch_token)
            resp, data = call_json(
                "phonepe", method, self.host + path, unreachable=Ambiguous, json=body,
                timeout=TIMEOUT_SECONDS,
                headers={"Content-Type": "application/json", "Authorization": token.header},
            )
            if resp.status_code == 401 and attempt == 1:
                # Revoked or rotated early: fetch a new token once, then give up.
                self.tokens.forget(token)
                continue
            break
        if not isinstance(data, dict):
            data = {"body": data}
        if resp.status_code < 400 and data.get("state"):
            # A state is PhonePe's answer (its errorCode only explains a FAILED one).
            return data
        code = str(data.get("code") or data.get("errorCode") or "")
        if resp.status_code >= 500 or resp.status_code in (408, 429) or code in AMBIGUOUS_CODES:
            raise Ambiguous(f"phonepe {resp.status_code} {code}".strip(), raw=data)
        if resp.status_code == 404 or "NOT_FOUND" in code:
            raise NotFound(f"phonepe: {code or 'not found'}", raw=data)
        if resp.status_code >= 400:
            raise GatewayError(
                f"phonepe refused: {code or resp.status_code}", transient=False, raw=data
            )
        return data

    # -- interface ---------------------------------------------------------------------------
    def create_order(
        self, *, reference, amount, currency, customer, expires_at=None
    ) -> OrderResult:
        if currency != "INR":
            raise GatewayError("PhonePe accepts INR only", transient=False)
        order_id = "NBT" + secrets.token_hex(12).upper()
        payload: dict[str, Any] = {
            "merchantOrderId": order_id,
            "amount": amount,
            "expireAfter": expire_after(
                expires_at, int(self.config.get("BOOKING_HOLD_SECONDS") or 900)
            ),
            "metaInfo": {"udf1": reference},
            "paymentFlow": {
                "type": "PG_CHECKOUT",
                "message": f"NIBOG booking {reference}",
                "merchantUrls": {"redirectUrl": self.public_url(f"/payments/phonepe/return/{order_id}")},
            },
        }
        if customer.get("phone"):
            payload["prefillUserLoginDetails"] = {
                "phoneNumber": customer["phone"].removeprefix("+91")[-10:]
            }
        try:
            data = self._call("POST", PAY_PATH, body=payload)
        except Ambiguous as exc:
            data = self._settle_ambiguous_pay(order_id, payload, exc)
        if not data.get("redirectUrl"):
            raise GatewayError("phonepe did not start the payment", transient=False, raw=data)
        checkout = {
            "type": "redirect",
            "redirect_url": data["redirectUrl"],
            "method": "GET",
            "merchant_transaction_id": order_id,
        }
        return OrderResult(order_id, checkout, data)

    def _settle_ambiguous_pay(self, order_id: str, payload: dict, exc: Ambiguous) -> dict:
        """A pay call PhonePe may or may not have acted on: ask the status of the same
        merchantOrderId before anything else.

        - PhonePe has no such order: the call never opened one, so it is sent again under the
          same merchantOrderId (should the first call still land, PhonePe refuses the duplicate
          id: never two orders).
        - PhonePe has it, or cannot say: its pay page (the token in ``redirectUrl``) came only
          in the lost answer and the status API does not return it, so no one can pay that
          order; it lapses unpaid at ``expireAfter``. Nothing is recorded and the caller's retry
          opens a new order (a transient error, "nothing was charged").
        """
        try:
            status = self._call("GET", ORDER_STATUS_PATH.format(order_id=order_id))
        except NotFound:
            try:
                return self._call("POST", PAY_PATH, body=payload)
            except GatewayError as again:
                # Unclear again, or refused as a duplicate of the first call landing late:
                # either way the parent has no pay page and may simply try again.
                raise GatewayError(str(again), raw=again.raw) from again
        except Ambiguous as unknown:
            log.warning("phonepe pay answer and status both unclear",
                        extra={"merchant_order_id": order_id})
            raise GatewayError(str(exc), raw=unknown.raw) from exc
        log.warning("phonepe opened an order whose pay page was lost; it lapses unpaid",
                    extra={"merchant_order_id": order_id, "state": status.get("state")})
        raise GatewayError(f"{exc} (order opened, pay page lost)", raw=status) from exc

    def fetch_payment(self, provider_order_id, provider_payment_id) -> PaymentInfo:
        try:
            data = self._call("GET", ORDER_STATUS_PATH.format(order_id=provider_order_id))
        except Ambiguous as exc:
            # No answer is not "failed": the caller leaves the payment open and asks again.
            raise GatewayError(str(exc), raw=exc.raw) from exc
        return payment_info(data)

    def refund(self, *, provider_order_id, provider_payment_id, amount, reference) -> RefundResult:
        body = {
            "merchantRefundId": reference,
            "originalMerchantOrderId": provider_order_id,
            "amount": amount,
        }
        try:
            return refund_result(self._call("POST", REFUND_PATH, body=body))
        except Ambiguous:
            # Placed or not? Ask. Unknown -> retry later with the same merchantRefundId.
            return self._refund_lookup(reference, placed_unknown=True)
        except NotFound:
            raise
        except GatewayError as exc:
            if exc.transient:
                raise
            # Refused - perhaps as a duplicate of a refund an earlier attempt already placed.
            try:
                return self._refund_lookup(reference, placed_unknown=False)
            except NotFound:
                raise exc from None

    def _refund_lookup(self, reference: str, *, placed_unknown: bool) -> RefundResult:
        try:
            return refund_result(
                self._call("GET", REFUND_STATUS_PATH.format(refund_id=reference))
            )
        except NotFound:
            if placed_unknown:
                # The refund call's fate is unknown and PhonePe does not know the refund (yet):
                # keep it pending and try again, the reservation on the payment stays.
                raise GatewayError("phonepe refund not found after an ambiguous answer") from None
            raise
        except Ambiguous as exc:
            raise GatewayError(str(exc), raw=exc.raw) from exc

    def refund_status(self, *, provider_payment_id, provider_refund_id, reference) -> RefundResult:
        try:
            result = refund_result(
                self._call("GET", REFUND_STATUS_PATH.format(refund_id=reference))
            )
        except Ambiguous as exc:
            raise GatewayError(str(exc), raw=exc.raw) from exc
        result.provider_refund_id = result.provider_refund_id or provider_refund_id
        return result

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        username = self.config.get("PHONEPE_WEBHOOK_USERNAME") or ""
        password = self.config.get("PHONEPE_WEBHOOK_PASSWORD") or ""
        sent = (headers.get("Authorization") or "").strip()
        # PhonePe sends the bare hex digest; some proxies and SDK samples prefix "SHA256 ".
        if sent.upper().startswith("SHA256 "):
            sent = sent[7:].strip()
        # Without a configured pair the digest is anyone's to compute.
        if not (username and password) or not constant_time_equal(
            webhook_authorization(username, password), sent.lower()
        ):
            raise InvalidSignature("Authorization does not match the configured webhook user")
        try:
            body = json.loads(raw_body)
            payload = body["payload"]
            if not isinstance(payload, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedEvent("callback body is not a PhonePe webhook") from exc
        event = str(body.get("event") or TYPE_TO_EVENT.get(str(body.get("type")), ""))
        state = payload.get("state")
        if event in REFUND_EVENTS:
            result = refund_result(payload)
            kind = {"processed": "refund_processed", "failed": "refund_failed"}.get(
                result.status, "ignored"
            )
            reference = str(payload.get("merchantRefundId") or "")
            return GatewayEvent(
                event_id=f"{event}:{reference}:{payload.get('refundId')}:{state}",
                event_type=event,
                kind=kind,
                payload=body,
                provider_refund_id=result.provider_refund_id,
                refund_reference=reference or None,
                amount=payload.get("amount"),
            )
        if event not in ORDER_EVENTS:
            # pg.transaction.failed (an attempt failed, the order is still open) and the rest.
            last = (payload.get("paymentDetails") or [{}])[-1]
            return GatewayEvent(
                event_id=f"{event}:{payload.get('merchantOrderId')}:{state}:"
                f"{last.get('transactionId')}",
                event_type=event or "unknown",
                kind="ignored",
                payload=body,
            )
        info = payment_info(payload)
        kind = {"captured": "payment_captured", "failed": "payment_failed"}.get(
            info.status, "ignored"
        )
        return GatewayEvent(
            event_id=f"{event}:{payload.get('merchantOrderId')}:{info.provider_payment_id}:{state}",
            event_type=event,
            kind=kind,
            payload=body,
            provider_order_id=payload.get("merchantOrderId"),
            provider_payment_id=info.provider_payment_id,
            amount=info.amount,
            currency=info.currency,
            method=info.method,
            failure_reason=info.failure_reason,
        )

"""The gateway interface every payment provider implements.

Gateways are stateless adapters: they talk to the provider (or simulate it) and translate its
answers into the small value types below. They never touch the database; the payments service
decides what an answer means for a payment, a booking or a refund.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from nibog.core.secrets_compare import constant_time_equal  # noqa: F401 - gateways use it


class GatewayError(Exception):
    """The provider could not be reached or refused the call.

    ``transient`` errors (timeouts, 5xx) are worth retrying; the others are not.
    """

    def __init__(self, message: str, *, transient: bool = True, raw: Any = None):
        super().__init__(message)
        self.transient = transient
        self.raw = raw


class InvalidSignature(Exception):
    """A callback or webhook whose signature does not verify: nothing in it is trusted."""


class MalformedEvent(ValueError):
    """Correctly signed, but not an event we can read."""


@dataclass
class OrderResult:
    provider_order_id: str
    checkout: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class PaymentInfo:
    """The provider's view of a payment attempt on an order.

    ``status`` is one of ``captured``, ``failed`` or ``pending`` (no final outcome yet).
    """

    status: str
    provider_payment_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    method: str | None = None
    failure_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class GatewayEvent:
    """A verified webhook or server-to-server callback.

    ``kind``: ``payment_captured``, ``payment_failed``, ``refund_processed``, ``refund_failed`` or
    ``ignored`` (an event type we do not act on).
    """

    event_id: str
    event_type: str
    kind: str
    provider_order_id: str | None = None
    provider_payment_id: str | None = None
    provider_refund_id: str | None = None
    # Our own refund reference, when the gateway reports refunds by it (PhonePe).
    refund_reference: str | None = None
    amount: int | None = None
    currency: str | None = None
    method: str | None = None
    failure_reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class RefundResult:
    """``status``: ``processed``, ``pending`` (the provider will finish later) or ``failed``."""

    provider_refund_id: str | None
    status: str
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class PaymentMethod:
    code: str
    name: str


class Gateway(ABC):
    name: str = ""
    # Razorpay-style clients send (payment id, signature) back after checkout; PhonePe redirects
    # and the server asks the status API instead.
    client_signature: bool = True

    def __init__(self, config: Mapping[str, Any]):
        self.config = config

    @abstractmethod
    def create_order(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        customer: dict[str, Any],
        expires_at: datetime | None = None,
    ) -> OrderResult:
        """``expires_at``: when the booking's hold lapses, for gateways whose orders expire."""

    @abstractmethod
    def verify_payment_signature(
        self, provider_order_id: str, provider_payment_id: str, signature: str
    ) -> bool: ...

    @abstractmethod
    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify the signature over the raw body, then parse it. Raises InvalidSignature."""

    @abstractmethod
    def fetch_payment(self, provider_order_id: str, provider_payment_id: str | None) -> PaymentInfo:
        """The provider's current answer for an order (and payment, when known)."""

    @abstractmethod
    def refund(
        self, *, provider_order_id: str, provider_payment_id: str, amount: int, reference: str
    ) -> RefundResult: ...

    @abstractmethod
    def refund_status(
        self, *, provider_payment_id: str, provider_refund_id: str, reference: str
    ) -> RefundResult:
        """Where an accepted refund stands (for refunds the gateway pays out later)."""

    def methods(self) -> list[PaymentMethod]:
        return [
            PaymentMethod("upi", "UPI"),
            PaymentMethod("card", "Credit / debit card"),
            PaymentMethod("netbanking", "Net banking"),
            PaymentMethod("wallet", "Wallet"),
        ]



class RedirectGateway(Gateway):
    """A gateway that redirects to its pay page and sends nothing signed back through the
    browser (PhonePe): the server asks the status API instead."""

    client_signature = False

    def verify_payment_signature(self, provider_order_id, provider_payment_id, signature) -> bool:
        return False  # no client-side signature exists; see client_signature

    def public_url(self, path: str) -> str:
        """Our own address of ``path``, for the pages and callbacks the gateway calls back."""
        return self.config.get("PUBLIC_BASE_URL", "").rstrip("/") + path


def call_json(provider: str, method: str, url: str, *, unreachable: type[GatewayError] = GatewayError,
              **kwargs) -> tuple[requests.Response, dict]:
    """One HTTP call to a provider and its JSON answer (``{"body": <text>}`` when it is not
    JSON; the caller decides what the status means). No answer raises ``unreachable``."""
    try:
        resp = requests.request(method, url, **kwargs)
    except requests.RequestException as exc:
        raise unreachable(f"{provider} unreachable: {exc.__class__.__name__}") from exc
    try:
        data = resp.json()
    except ValueError:
        data = {"body": resp.text[:500]}
    return resp, data

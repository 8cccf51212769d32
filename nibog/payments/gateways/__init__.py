"""Pick the payment gateway by name (``PAYMENT_PROVIDER`` by default)."""

from __future__ import annotations

from flask import current_app

from nibog.core.errors import AppError
from nibog.payments.gateways.base import Gateway, GatewayError, InvalidSignature

PROVIDERS = ("sandbox", "razorpay", "phonepe")

__all__ = ["Gateway", "GatewayError", "InvalidSignature", "PROVIDERS", "get_gateway"]


def get_gateway(name: str | None = None) -> Gateway:
    """The gateway a new payment uses, or the one an existing payment was made with."""
    name = name or current_app.config.get("PAYMENT_PROVIDER", "sandbox")
    if name == "sandbox" and current_app.config.get("ENV_NAME") == "production" and not (
        current_app.config.get("PAYMENT_SANDBOX_ALLOWED")
    ):
        # The sandbox accepts anything signed with the public dev secret: free bookings.

        raise AppError(
            "payments_unavailable", "Online payments are not configured on this server", 503
        )
    if name == "sandbox":
        # lazy: only the configured gateway (and its client library) is loaded
        from nibog.payments.gateways.sandbox import SandboxGateway as cls
    elif name == "razorpay":
        # lazy: only the configured gateway (and its client library) is loaded
        from nibog.payments.gateways.razorpay import RazorpayGateway as cls
    elif name == "phonepe":
        # Standard Checkout v2 (OAuth) unless a merchant is still on the v1 salt-key flow.
        if current_app.config.get("PHONEPE_API", "v2") == "v1":
            # lazy: only the configured gateway (and its client library) is loaded
            from nibog.payments.gateways.phonepe import PhonePeGateway as cls
        else:
            # lazy: only the configured gateway (and its client library) is loaded
            from nibog.payments.gateways.phonepe_v2 import PhonePeV2Gateway as cls
    else:
        raise ValueError(f"unknown payment provider {name!r}")
    return cls(current_app.config)

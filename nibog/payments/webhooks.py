"""/webhooks/payment/*: gateway events, verified over the raw body and applied exactly once.

``success``, ``failure`` and ``refund`` take Razorpay-format events (the sandbox sends the same)
signed with ``X-Razorpay-Signature``; each route accepts any Razorpay event, since the gateway
may be configured with a single URL, and acts on the body's ``event``. ``phonepe`` takes
PhonePe's server-to-server callback. A bad signature is 401; a replay is 200 and changes nothing.
"""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint

from nibog.payments import events
from nibog.payments import schemas as s
from nibog.payments.gateways import get_gateway

blp = Blueprint(
    "payment_webhooks", __name__, url_prefix="/webhooks/payment", description="Gateway webhooks"
)


def _razorpay_family():
    # The sandbox and Razorpay share the signature scheme and secrets; a deployment uses one.
    configured = current_app.config.get("PAYMENT_PROVIDER", "sandbox")
    return get_gateway(configured if configured in ("sandbox", "razorpay") else "razorpay")


def _handle(gateway) -> dict:
    result = events.handle_webhook(gateway, request.get_data(cache=True), request.headers)
    return result


@blp.post("/success")
@blp.response(200, s.WebhookOut)
def payment_success():
    """Razorpay ``payment.captured`` / ``order.paid``."""
    return _handle(_razorpay_family())


@blp.post("/failure")
@blp.response(200, s.WebhookOut)
def payment_failure():
    """Razorpay ``payment.failed``."""
    return _handle(_razorpay_family())


@blp.post("/refund")
@blp.response(200, s.WebhookOut)
def payment_refund():
    """Razorpay ``refund.processed`` / ``refund.failed``."""
    return _handle(_razorpay_family())


@blp.post("/phonepe")
@blp.response(200, s.WebhookOut)
def phonepe_callback():
    """PhonePe S2S callback: ``{"response": <base64>}`` with ``X-VERIFY``."""
    return _handle(get_gateway("phonepe"))

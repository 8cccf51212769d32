"""Payment pages outside the JSON API.

- ``/payments/sandbox/checkout/<order_id>`` (sandbox gateway; in production only with PAYMENT_SANDBOX_ALLOWED): a stand-in
  for Razorpay's checkout where a person clicks "pay" or "fail". The app then plays the gateway:
  it records the outcome in the simulator, hands the signed (payment id, signature) to the same
  confirm code the API uses, and delivers the signed webhook through the same webhook code.
- ``/payments/phonepe/return/<merchant_transaction_id>``: where PhonePe sends the parent back;
  the outcome is asked from PhonePe's status API (the browser's word is not trusted).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select

from nibog.booking.models import Booking
from nibog.core import boundary
from nibog.extensions import csrf, db
from nibog.payments import events, service
from nibog.payments.gateways import GatewayError, get_gateway
from nibog.payments.models import Payment

bp = Blueprint("payment_pages", __name__, url_prefix="/payments")


def _payment_by_order(provider: str, order_id: str) -> Payment:
    payment = db.session.scalars(
        select(Payment).where(Payment.provider == provider, Payment.provider_order_id == order_id)
    ).one_or_none()
    if payment is None:
        abort(404)
    return payment


def _booking_number(payment: Payment) -> str:
    return db.session.get(Booking, payment.booking_id).booking_number


def _booking_url(payment: Payment) -> str:
    """Where the parent sees the booking: their account's page, or for a guest the booking's
    page in this browser (which holds the access code since booking)."""
    booking = db.session.get(Booking, payment.booking_id)
    if booking.user_id is None:
        return f"/book/{booking.id}/done"
    return f"/account/bookings/{booking.id}"


def _sandbox_allowed() -> None:
    if (current_app.config.get("ENV_NAME") == "production"
            and not current_app.config.get("PAYMENT_SANDBOX_ALLOWED")) or (
        current_app.config.get("PAYMENT_PROVIDER", "sandbox") != "sandbox"
    ):
        abort(404)


@bp.get("/sandbox/checkout/<order_id>")
def sandbox_checkout(order_id: str):
    _sandbox_allowed()
    payment = _payment_by_order("sandbox", order_id)
    return render_template(
        "payments/sandbox_checkout.html",
        payment=payment,
        booking_number=_booking_number(payment),
        outcome=None,
    )


@bp.post("/sandbox/checkout/<order_id>")
def sandbox_checkout_submit(order_id: str):
    _sandbox_allowed()
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    payment = _payment_by_order("sandbox", order_id)
    action = request.form.get("action")
    if action not in ("pay", "fail"):
        abort(400)
    gateway = get_gateway("sandbox")
    attempt = gateway.simulate_payment(
        order_id,
        outcome="captured" if action == "pay" else "failed",
        method=request.form.get("method") or "upi",
    )
    if action == "pay":
        # 1) the browser hands the signed result to our confirm code ...
        service.confirm_payment(
            payment.id,
            user=None,
            provider_payment_id=attempt["payment"]["id"],
            signature=attempt["signature"],
            check_owner=False,
            source="sandbox",
        )
    # 2) ... and the "gateway" sends its signed webhook, which finds the work done.
    event = "payment.captured" if action == "pay" else "payment.failed"
    body, headers = gateway.signed_webhook(event, attempt["payment"])
    events.handle_webhook(gateway, body, headers)
    db.session.refresh(payment)
    return render_template(
        "payments/sandbox_checkout.html",
        payment=payment,
        booking_number=_booking_number(payment),
        outcome=action,
    )


@bp.route("/phonepe/return/<merchant_transaction_id>", methods=["GET", "POST"])
@csrf.exempt
def phonepe_return(merchant_transaction_id: str):
    payment = _payment_by_order("phonepe", merchant_transaction_id)
    if payment.status == "created":
        try:
            service.reconcile_payment(payment.id, source="redirect")
        except GatewayError:
            boundary.rollback()  # the S2S callback or the sweep will settle it
        db.session.refresh(payment)
    return render_template(
        "payments/result.html", payment=payment, booking_number=_booking_number(payment),
        booking_url=_booking_url(payment),
    )

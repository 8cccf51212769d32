"""Duplicate, late and out-of-order payment webhooks, for every gateway: one table.

Each gateway (Razorpay, PhonePe v1 S2S callbacks, PhonePe v2 webhooks; the sandbox shares the
Razorpay path, tests/payments/test_webhooks.py) is driven through its real webhook route with
bodies in its own format, signed as it signs them; its HTTP API (orders, refunds) is answered by
recorded responses. Every delivery must answer 2xx - a gateway retries anything else for days -
and the money must come out right: one capture, one confirmation message, nothing un-captured,
no cancelled or expired booking brought back, a late payment refunded in full exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select, update

from nibog.booking.lifecycle import cancel_booking, expire_holds
from nibog.booking.models import Booking
from nibog.core import boundary
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.payments.models import Payment, Refund
from tests.factories import GameSlotFactory, UserFactory
from tests.payments import test_phonepe as v1
from tests.payments import test_phonepe_v2 as v2
from tests.payments import test_razorpay as rzp
from tests.payments.support import PRICE, make_booking, messages, open_payment, reload, transitions


@dataclass
class Gateway:
    """How one gateway is configured, opened, and how it sends each kind of event."""

    name: str
    config: dict
    mock: Callable  # (responses mock) -> None: its order and refund APIs
    success: Callable  # (client, order, delivery) -> response
    failure: Callable


def _rzp_mock(rsps):
    rsps.post(f"{rzp.API}/orders", json=rzp.order_body())
    rsps.get(f"{rzp.API}/payments/{rzp.PAY}/refunds", json={"entity": "collection", "items": []})
    rsps.post(f"{rzp.API}/payments/{rzp.PAY}/refund", json={
        "id": "rfnd_matrix0001", "entity": "refund", "amount": PRICE, "currency": "INR",
        "payment_id": rzp.PAY, "status": "processed"})


def _rzp_post(client, body_headers, route):
    body, headers = body_headers
    return client.post(f"/webhooks/payment/{route}", data=body, headers=headers)


def _failed_payment():
    body = rzp.payment_body(status="failed")
    body.update(error_code="BAD_REQUEST_ERROR", error_description="Payment failed")
    return body


RAZORPAY = Gateway(
    "razorpay",
    {"PAYMENT_PROVIDER": "razorpay", "RAZORPAY_KEY_ID": rzp.KEY_ID,
     "RAZORPAY_KEY_SECRET": rzp.KEY_SECRET, "RAZORPAY_WEBHOOK_SECRET": rzp.HOOK_SECRET},
    _rzp_mock,
    # A redelivery carries the same event id; a different event its own.
    lambda client, order, n: _rzp_post(client, rzp.signed(
        "payment.captured", rzp.payment_body(), event_id=f"evt_cap{n}"), "success"),
    lambda client, order, n: _rzp_post(client, rzp.signed(
        "payment.failed", _failed_payment(), event_id=f"evt_fail{n}"), "failure"),
)


def _v1_mock(rsps):
    rsps.post(f"{v1.HOST}/pg/v1/pay", json={
        "success": True, "code": "PAYMENT_INITIATED", "message": "Payment Initiated",
        "data": {"merchantId": v1.MID, "merchantTransactionId": "ignored",
                 "instrumentResponse": {"type": "PAY_PAGE",
                                        "redirectInfo": {"url": v1.REDIRECT, "method": "GET"}}}})
    rsps.post(f"{v1.HOST}/pg/v1/refund", json={
        "success": True, "code": "PAYMENT_SUCCESS", "message": "Refund done",
        "data": {"merchantId": v1.MID, "merchantTransactionId": "x", "transactionId": "TR77",
                 "amount": PRICE, "state": "COMPLETED", "responseCode": "SUCCESS"}})


PHONEPE_V1 = Gateway(
    "phonepe-v1",
    {"PAYMENT_PROVIDER": "phonepe", "PHONEPE_API": "v1", "PHONEPE_MERCHANT_ID": v1.MID,
     "PHONEPE_SALT_KEY": v1.SALT, "PHONEPE_SALT_INDEX": v1.INDEX, "PHONEPE_ENV": "uat"},
    _v1_mock,
    lambda client, order, n: v1.callback(client, v1.outcome(order["provider_order_id"])),
    lambda client, order, n: v1.callback(client, v1.outcome(
        order["provider_order_id"], code="PAYMENT_ERROR", state="FAILED")),
)


def _v2_mock(rsps):
    rsps.post(f"{v2.HOST}/v1/oauth/token", json=v2.token_body())
    rsps.post(f"{v2.HOST}/checkout/v2/pay", json={
        "orderId": "OMO2403282020198641071317", "state": "PENDING", "expireAt": 1703756259307,
        "redirectUrl": v2.REDIRECT})
    rsps.post(f"{v2.HOST}/payments/v2/refund", json={
        "refundId": "OMR7878098045517540996", "amount": PRICE, "state": "COMPLETED"})


PHONEPE_V2 = Gateway(
    "phonepe-v2",
    {"PAYMENT_PROVIDER": "phonepe", "PHONEPE_API": "v2", "PHONEPE_ENV": "uat",
     "PHONEPE_CLIENT_ID": v2.CLIENT_ID, "PHONEPE_CLIENT_SECRET": v2.CLIENT_SECRET,
     "PHONEPE_CLIENT_VERSION": "1", "PHONEPE_WEBHOOK_USERNAME": v2.HOOK_USER,
     "PHONEPE_WEBHOOK_PASSWORD": v2.HOOK_PASS},
    _v2_mock,
    lambda client, order, n: v2.webhook(client, "checkout.order.completed",
                                        v2.order_status(order["provider_order_id"])),
    lambda client, order, n: v2.webhook(client, "checkout.order.failed",
                                        v2.order_status(order["provider_order_id"],
                                                        state="FAILED")),
)

GATEWAYS = [RAZORPAY, PHONEPE_V1, PHONEPE_V2]


@pytest.fixture(params=GATEWAYS, ids=[g.name for g in GATEWAYS])
def gateway(request, app, monkeypatch):
    gw: Gateway = request.param
    for key, value in gw.config.items():
        monkeypatch.setitem(app.config, key, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gw.mock(rsps)
        yield gw


def _ok(resp):
    assert 200 <= resp.status_code < 300, (resp.status_code, resp.get_data(as_text=True))
    return resp


def _refunds(payment_id):
    db.session.expire_all()
    return list(db.session.scalars(select(Refund).where(Refund.payment_id == payment_id)))


# -- the matrix: (delivery sequence, what must hold after it) ---------------------------------
# Each step is "success" or "failure"; the same kind twice is a redelivery of the same event.

def test_duplicate_success_captures_and_confirms_once(client, gateway, app):
    parent = UserFactory()
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    for _ in range(3):
        _ok(gateway.success(client, order, 1))
    payment = reload(Payment, order["payment_id"])
    assert payment.status == "captured"
    assert len(transitions(payment.id, "captured")) == 1
    assert reload(Booking, booking.id).status == "confirmed"
    assert messages("booking_confirmed", booking.id) == 1
    assert _refunds(payment.id) == []


def test_duplicate_failure_fails_once_and_a_later_success_still_captures(client, gateway):
    parent = UserFactory()
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    _ok(gateway.failure(client, order, 1))
    _ok(gateway.failure(client, order, 1))
    assert reload(Payment, order["payment_id"]).status == "failed"
    assert len(transitions(order["payment_id"], "failed")) == 1
    # The parent retried in the gateway's page and paid: the money is not lost.
    _ok(gateway.success(client, order, 2))
    assert reload(Payment, order["payment_id"]).status == "captured"
    assert reload(Booking, booking.id).status == "confirmed"


def test_failure_after_success_never_uncaptures(client, gateway):
    parent = UserFactory()
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    _ok(gateway.success(client, order, 1))
    _ok(gateway.failure(client, order, 1))
    _ok(gateway.failure(client, order, 2))
    payment = reload(Payment, order["payment_id"])
    assert payment.status == "captured"
    assert transitions(payment.id, "failed") == []
    assert reload(Booking, booking.id).status == "confirmed"
    assert messages("booking_confirmed", booking.id) == 1


def test_late_success_after_cancel_is_refunded_once_and_resurrects_nothing(client, gateway):
    parent = UserFactory()
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    cancel_booking(booking.id, actor_id=parent.id)
    boundary.commit()
    for _ in range(2):  # the late capture, then its redelivery
        _ok(gateway.success(client, order, 1))
    assert reload(Booking, booking.id).status == "cancelled"
    refunds = _refunds(order["payment_id"])
    assert [(r.amount, r.status) for r in refunds] == [(PRICE, "processed")]
    payment = reload(Payment, order["payment_id"])
    assert payment.status == "refunded"
    assert len(transitions(payment.id, "captured")) == 1
    # Out of order after the refund: a success (redelivered once more) and a failure change
    # nothing - the refunded payment is not captured again, the booking not brought back.
    _ok(gateway.success(client, order, 1))
    _ok(gateway.failure(client, order, 3))
    assert reload(Payment, order["payment_id"]).status == "refunded"
    assert len(_refunds(order["payment_id"])) == 1
    assert reload(Booking, booking.id).status == "cancelled"
    assert messages("booking_confirmed", booking.id) == 0


def test_late_success_after_expiry_with_the_seat_resold_is_refunded(client, gateway):
    slot = GameSlotFactory(capacity=1)
    parent, other = UserFactory(), UserFactory()
    booking = make_booking(parent, slot=slot)
    order = open_payment(client, parent, booking)
    db.session.execute(update(Booking).where(Booking.id == booking.id).values(
        hold_expires_at=utcnow() - timedelta(minutes=1)))
    boundary.commit()
    assert expire_holds() == 1
    boundary.commit()
    resold = make_booking(other, slot=slot, status="confirmed")  # the freed seat, sold again
    for _ in range(2):
        _ok(gateway.success(client, order, 1))
    assert reload(Booking, booking.id).status == "expired"
    assert reload(Booking, resold.id).status == "confirmed"
    assert [(r.amount, r.status) for r in _refunds(order["payment_id"])] == [(PRICE, "processed")]
    assert reload(Payment, order["payment_id"]).status == "refunded"
    assert messages("booking_confirmed", booking.id) == 0


def test_the_matrix_covers_every_gateway_class(app, monkeypatch):
    from nibog.payments.gateways import get_gateway
    from nibog.payments.gateways.base import Gateway as Base

    def leaves(cls):
        subs = cls.__subclasses__()
        return {c for s in subs for c in leaves(s)} | {c for c in subs if not c.__subclasses__()}

    covered = set()
    for gw in GATEWAYS:
        for key, value in gw.config.items():
            monkeypatch.setitem(app.config, key, value)
        covered.add(type(get_gateway()))
    # The sandbox speaks the Razorpay format (tests/payments/test_webhooks.py covers its route).
    assert {c.__name__ for c in leaves(Base)} - {"SandboxGateway"} <= {c.__name__ for c in covered}

"""PAYMENT_PROVIDER=razorpay: the HTTP API answered by recorded responses (no network)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
import responses
from sqlalchemy import select, update

from nibog.booking.models import Booking
from nibog.core import boundary
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.payments.gateways.razorpay import order_signature, webhook_signature
from nibog.payments.models import Payment, Refund
from nibog.payments.tasks import reconcile_stuck_payments
from tests.helpers import auth_headers
from tests.payments.support import (
    PRICE,
    confirm,
    make_booking,
    messages,
    open_payment,
    post_webhook,
    reload,
)

API = "https://api.razorpay.com/v1"
KEY_ID, KEY_SECRET, HOOK_SECRET = "rzp_test_1DP5mmOlF5G5ag", "thisisasecret", "hooksecret"
ORDER = "order_EKwxwAgItmmXdp"
PAY = "pay_29QQoUBi66xm2f"


@pytest.fixture
def razorpay(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENT_PROVIDER", "razorpay")
    monkeypatch.setitem(app.config, "RAZORPAY_KEY_ID", KEY_ID)
    monkeypatch.setitem(app.config, "RAZORPAY_KEY_SECRET", KEY_SECRET)
    monkeypatch.setitem(app.config, "RAZORPAY_WEBHOOK_SECRET", HOOK_SECRET)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def order_body(amount=PRICE):
    return {
        "id": ORDER,
        "entity": "order",
        "amount": amount,
        "amount_paid": 0,
        "amount_due": amount,
        "currency": "INR",
        "receipt": "NIB",
        "status": "created",
        "attempts": 0,
        "notes": {},
        "created_at": 1582628071,
    }


def payment_body(status="captured", amount=PRICE, order_id=ORDER):
    return {
        "id": PAY,
        "entity": "payment",
        "amount": amount,
        "currency": "INR",
        "status": status,
        "order_id": order_id,
        "method": "upi",
        "captured": status == "captured",
        "error_code": None,
        "error_description": None,
    }


def opened(client, razorpay, parent):
    razorpay.post(f"{API}/orders", json=order_body())
    booking = make_booking(parent)
    return booking, open_payment(client, parent, booking)


def signed(event: str, payment: dict, refund: dict | None = None, event_id="evt_1"):
    payload = {"payment": {"entity": payment}}
    if refund:
        payload["refund"] = {"entity": refund}
    body = json.dumps({"entity": "event", "event": event, "payload": payload}).encode()
    return body, {
        "X-Razorpay-Signature": webhook_signature(body, HOOK_SECRET),
        "X-Razorpay-Event-Id": event_id,
        "Content-Type": "application/json",
    }


def test_create_sends_the_booking_total_with_basic_auth(client, razorpay, parent):
    booking, order = opened(client, razorpay, parent)
    call = razorpay.calls[0]
    assert (
        call.request.headers["Authorization"]
        == "Basic " + base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
    )
    sent = json.loads(call.request.body)
    assert (sent["amount"], sent["currency"], sent["receipt"]) == (
        PRICE,
        "INR",
        booking.booking_number,
    )
    assert order["provider"] == "razorpay"
    assert order["provider_order_id"] == ORDER
    assert order["checkout"]["key_id"] == KEY_ID
    assert order["checkout"]["order_id"] == ORDER


def test_gateway_outage_on_create_is_502_and_opens_nothing(client, razorpay, parent):
    razorpay.post(f"{API}/orders", status=503, json={"error": {"description": "down"}})
    booking = make_booking(parent)
    resp = client.post(
        "/api/payments/create", json={"booking_id": booking.id}, headers=auth_headers(parent)
    )
    assert resp.status_code == 502
    assert db.session.scalar(select(Payment.id)) is None


def test_confirm_verifies_then_checks_the_payment_with_razorpay(client, razorpay, parent):
    booking, order = opened(client, razorpay, parent)
    razorpay.get(f"{API}/payments/{PAY}", json=payment_body())
    good = order_signature(ORDER, PAY, KEY_SECRET)

    bad = confirm(client, parent, order["payment_id"], PAY, order_signature(ORDER, PAY, "x"))
    assert bad.status_code == 422
    assert len(razorpay.calls) == 1  # a bad signature never reaches the gateway

    resp = confirm(client, parent, order["payment_id"], PAY, good)
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "captured"
    assert reload(Booking, booking.id).status == "confirmed"

    # Razorpay's webhook for the same capture then finds the work done.
    hook = post_webhook(client, *signed("payment.captured", payment_body()))
    assert hook.get_json()["result"] == "already_captured"
    assert messages("booking_confirmed", booking.id) == 1


def test_authorized_but_not_captured_stays_open(client, razorpay, parent):
    booking, order = opened(client, razorpay, parent)
    razorpay.get(f"{API}/payments/{PAY}", json=payment_body(status="authorized"))
    resp = confirm(
        client, parent, order["payment_id"], PAY, order_signature(ORDER, PAY, KEY_SECRET)
    )
    assert resp.get_json()["status"] == "created"
    assert reload(Booking, booking.id).status == "pending_payment"


def test_webhook_captures_and_rejects_a_wrong_amount(client, razorpay, parent):
    booking, order = opened(client, razorpay, parent)
    assert (
        post_webhook(
            client,
            *signed("payment.captured", payment_body())[:1],
            {"X-Razorpay-Signature": "0" * 64},
        ).status_code
        == 401
    )
    wrong = post_webhook(
        client, *signed("payment.captured", payment_body(amount=PRICE - 1), event_id="evt_a")
    )
    assert wrong.get_json()["result"] == "amount_mismatch"
    assert reload(Booking, booking.id).status == "pending_payment"
    ok = post_webhook(client, *signed("payment.captured", payment_body(), event_id="evt_b"))
    assert ok.get_json()["result"] == "captured"
    assert reload(Booking, booking.id).status == "confirmed"


def _captured(client, razorpay, parent):
    booking, order = opened(client, razorpay, parent)
    post_webhook(client, *signed("payment.captured", payment_body(), event_id="evt_cap"))
    return booking, order["payment_id"]


def test_refund_calls_razorpay_and_is_processed(client, razorpay, parent, admin):
    booking, payment_id = _captured(client, razorpay, parent)
    razorpay.get(f"{API}/payments/{PAY}/refunds", json={"entity": "collection", "items": []})
    refund_call = razorpay.post(
        f"{API}/payments/{PAY}/refund",
        json={
            "id": "rfnd_FP8QHiV938haTz",
            "entity": "refund",
            "amount": 30000,
            "currency": "INR",
            "payment_id": PAY,
            "status": "processed",
        },
    )

    resp = client.post(
        "/api/payments/refund",
        json={"payment_id": payment_id, "amount": 30000, "reason": "Partial"},
        headers=auth_headers(admin),
    )
    assert resp.status_code == 201
    assert refund_call.call_count == 1
    sent = json.loads(refund_call.calls[0].request.body)
    assert sent["amount"] == 30000 and sent["receipt"].startswith("NBR")
    row = reload(Refund, resp.get_json()["id"])
    assert (row.status, row.provider_refund_id) == ("processed", "rfnd_FP8QHiV938haTz")
    assert reload(Payment, payment_id).status == "partially_refunded"
    assert messages("refund_processed", booking.id) == 1


def test_refund_retried_after_an_outage_and_finished_by_webhook(client, razorpay, parent, admin):
    booking, payment_id = _captured(client, razorpay, parent)
    razorpay.get(f"{API}/payments/{PAY}/refunds", json={"entity": "collection", "items": []})
    refund_url = f"{API}/payments/{PAY}/refund"
    razorpay.post(refund_url, status=503, json={"error": {"description": "try later"}})

    resp = client.post(
        "/api/payments/refund",
        json={"payment_id": payment_id, "reason": "Full"},
        headers=auth_headers(admin),
    )
    assert resp.status_code == 201
    refund_id = resp.get_json()["id"]
    assert reload(Refund, refund_id).status == "pending"  # the job failed; money is reserved
    assert reload(Payment, payment_id).amount_refunded == PRICE

    # The sweep retries refunds the gateway never accepted; this time it accepts (pending).
    db.session.execute(
        update(Refund)
        .where(Refund.id == refund_id)
        .values(created_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    razorpay.replace(
        responses.POST,
        refund_url,
        json={
            "id": "rfnd_FgRAHdNOM4ZVbO",
            "entity": "refund",
            "amount": PRICE,
            "payment_id": PAY,
            "status": "pending",
        },
    )
    assert boundary.run_unit(reconcile_stuck_payments) == {"refunds_retried": 1}
    row = reload(Refund, refund_id)
    assert (row.status, row.provider_refund_id) == ("pending", "rfnd_FgRAHdNOM4ZVbO")
    assert messages("refund_processed") == 0

    refund_entity = {
        "id": "rfnd_FgRAHdNOM4ZVbO",
        "entity": "refund",
        "amount": PRICE,
        "payment_id": PAY,
        "status": "processed",
    }
    hook = signed("refund.processed", payment_body(status="refunded"), refund_entity, "evt_r")
    assert post_webhook(client, *hook, route="refund").get_json()["result"] == "refund_processed"
    assert post_webhook(client, *hook, route="refund").get_json()["status"] == "duplicate"
    assert reload(Refund, refund_id).status == "processed"
    assert messages("refund_processed", booking.id) == 1


def test_a_refused_refund_gives_the_money_back_to_refund(client, razorpay, parent, admin):
    _, payment_id = _captured(client, razorpay, parent)
    razorpay.get(f"{API}/payments/{PAY}/refunds", json={"entity": "collection", "items": []})
    razorpay.post(
        f"{API}/payments/{PAY}/refund",
        status=400,
        json={"error": {"description": "The refund amount is invalid"}},
    )
    resp = client.post(
        "/api/payments/refund",
        json={"payment_id": payment_id, "reason": "x"},
        headers=auth_headers(admin),
    )
    assert resp.status_code == 201
    assert reload(Refund, resp.get_json()["id"]).status == "failed"
    payment = reload(Payment, payment_id)
    assert (payment.status, payment.amount_refunded) == ("captured", 0)
    assert any("failed at the gateway" in f for f in payment.raw["flags"])


def test_a_retry_never_refunds_twice(client, razorpay, parent):
    from nibog.core import boundary
    from nibog.payments.service import refund_payment
    from nibog.payments.tasks import process_refund, refund_reference

    _, payment_id = _captured(client, razorpay, parent)
    refunds_url = f"{API}/payments/{PAY}/refunds"
    razorpay.get(refunds_url, json={"items": []})
    razorpay.post(f"{API}/payments/{PAY}/refund", status=500)
    refund = refund_payment(payment_id, 5000, reason="x", actor_id=None)
    boundary.commit()
    # Razorpay did refund, but its answer was lost: the retry finds it by receipt.
    razorpay.replace(
        responses.GET,
        refunds_url,
        json={
            "items": [
                {
                    "id": "rfnd_seen",
                    "amount": 5000,
                    "receipt": refund_reference(refund),
                    "status": "processed",
                }
            ]
        },
    )
    post = razorpay.replace(responses.POST, f"{API}/payments/{PAY}/refund", status=500)
    assert boundary.run_unit(process_refund, refund.id) == "processed"
    assert post.call_count == 0
    assert reload(Refund, refund.id).provider_refund_id == "rfnd_seen"


def test_reconcile_asks_for_the_orders_payments(client, razorpay, app, parent):
    booking, order = opened(client, razorpay, parent)
    razorpay.get(
        f"{API}/orders/{ORDER}/payments",
        json={
            "entity": "collection",
            "count": 2,
            "items": [payment_body(status="failed"), payment_body()],
        },
    )
    db.session.execute(
        update(Payment)
        .where(Payment.id == order["payment_id"])
        .values(created_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert boundary.run_unit(reconcile_stuck_payments) == {"captured": 1}
    assert reload(Booking, booking.id).status == "confirmed"


def test_an_accepted_refund_without_news_is_checked_by_the_sweep(client, razorpay, parent, admin):
    booking, payment_id = _captured(client, razorpay, parent)
    razorpay.get(f"{API}/payments/{PAY}/refunds", json={"items": []})
    razorpay.post(
        f"{API}/payments/{PAY}/refund",
        json={"id": "rfnd_slow", "entity": "refund", "amount": PRICE, "status": "pending"},
    )
    resp = client.post(
        "/api/payments/refund",
        json={"payment_id": payment_id, "reason": "x"},
        headers=auth_headers(admin),
    )
    refund_id = resp.get_json()["id"]
    assert reload(Refund, refund_id).status == "pending"

    status = razorpay.get(
        f"{API}/payments/{PAY}/refunds/rfnd_slow",
        json={"id": "rfnd_slow", "entity": "refund", "amount": PRICE, "status": "processed"},
    )
    assert boundary.run_unit(reconcile_stuck_payments) == {}  # too recent to chase
    db.session.execute(
        update(Refund)
        .where(Refund.id == refund_id)
        .values(created_at=utcnow() - timedelta(hours=2))
    )
    db.session.commit()
    assert boundary.run_unit(reconcile_stuck_payments) == {"refunds_checked": 1}
    assert status.call_count == 1
    assert reload(Refund, refund_id).status == "processed"
    assert messages("refund_processed", booking.id) == 1

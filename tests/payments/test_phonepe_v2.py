"""PHONEPE_API=v2 (Standard Checkout): OAuth token, pay, order status, refunds, webhooks.

Request and response bodies follow PhonePe's published examples (developer.phonepe.com:
"Generate Authorization Token", "Create Payment", "Check Order Status", "Refund", "Refund Status",
"Webhook Handling"); nothing leaves the machine (``responses``).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from contextlib import nullcontext
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import redis as redis_lib
import requests
import responses
from sqlalchemy import update

from nibog.booking.models import Booking
from nibog.core import boundary
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.payments.gateways import GatewayError
from nibog.payments.gateways.phonepe_auth import REFRESH_MARGIN_SECONDS, TokenCache
from nibog.payments.gateways.phonepe_v2 import PhonePeV2Gateway
from nibog.payments.models import Payment, Refund
from nibog.payments.tasks import check_refund, process_refund, reconcile_stuck_payments
from tests.helpers import auth_headers, error_code
from tests.payments.support import PRICE, make_booking, messages, open_payment, reload, transitions

HOST = "https://api-preprod.phonepe.com/apis/pg-sandbox"
CLIENT_ID, CLIENT_SECRET = "TEST-M22SANDBOX_25", "MjdkYjE5ZDctNzFhZi00ZGVlLWI3NjQtZjcwZTc2NmNlNmQy"
HOOK_USER, HOOK_PASS = "nibog-hooks", "s3cret-pass"
TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHBpcmVzT24iOjE3MjA2MzUzMjE5OTYsIm1lcmNoYW50SWQiOiJWUlVBVCJ9.4YjYHI6Gy6gzOisD_628wfbaI46dMSc5T_0gZ2-SAJo"  # noqa: E501 - PhonePe's sample
REDIRECT = "https://mercury-uat.phonepe.com/transact/uat_v2?token=v2sample"


def token_body(access_token=TOKEN, lifetime=3600):
    now = int(time.time())
    return {
        "access_token": access_token,
        "encrypted_access_token": access_token,
        "expires_in": None,
        "issued_at": now,
        "expires_at": now + lifetime,
        "session_expires_at": now + lifetime,
        "token_type": "O-Bearer",
    }


@pytest.fixture
def phonepe(app, monkeypatch):
    for key, value in (
        ("PAYMENT_PROVIDER", "phonepe"),
        ("PHONEPE_API", "v2"),
        ("PHONEPE_ENV", "uat"),
        ("PHONEPE_CLIENT_ID", CLIENT_ID),
        ("PHONEPE_CLIENT_SECRET", CLIENT_SECRET),
        ("PHONEPE_CLIENT_VERSION", "1"),
        ("PHONEPE_WEBHOOK_USERNAME", HOOK_USER),
        ("PHONEPE_WEBHOOK_PASSWORD", HOOK_PASS),
    ):
        monkeypatch.setitem(app.config, key, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.token = rsps.post(f"{HOST}/v1/oauth/token", json=token_body())
        rsps.pay = rsps.post(
            f"{HOST}/checkout/v2/pay",
            json={
                "orderId": "OMO2403282020198641071317",
                "state": "PENDING",
                "expireAt": 1703756259307,
                "redirectUrl": REDIRECT,
            },
        )
        yield rsps


def order_status(mtid, state="COMPLETED", amount=PRICE, txn="OM2403282020198651071949"):
    """The order status body (and the webhook payload) as PhonePe documents it."""
    detail = {
        "paymentMode": "UPI_QR",
        "transactionId": txn,
        "timestamp": 1711694662542,
        "amount": amount,
        "state": state,
    }
    body = {
        "merchantId": "M22SANDBOX",
        "merchantOrderId": mtid,
        "orderId": "OMO2403282020198641071317",
        "state": state,
        "amount": amount,
        "expireAt": 1711867462542,
        "metaInfo": {"udf1": "NB-TEST"},
        "paymentDetails": [detail],
    }
    if state == "FAILED":
        body["errorCode"] = detail["errorCode"] = "PAYMENT_ERROR"
        body["detailedErrorCode"] = "XC"
    return body


def hook_auth(user=HOOK_USER, password=HOOK_PASS) -> str:
    return hashlib.sha256(f"{user}:{password}".encode()).hexdigest()


def webhook(client, event: str, payload: dict, auth: str | None = None):
    kind = event.upper().replace(".", "_")
    return client.post(
        "/webhooks/payment/phonepe",
        data=json.dumps({"type": kind, "event": event, "payload": payload}),
        headers={"Authorization": auth if auth is not None else hook_auth(),
                 "Content-Type": "application/json"},
    )


def _status(phonepe, mtid, body, status=200):
    return phonepe.get(f"{HOST}/checkout/v2/order/{mtid}/status", json=body, status=status)


def _captured(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    resp = webhook(client, "checkout.order.completed", order_status(order["provider_order_id"]))
    assert resp.get_json()["result"] == "captured"
    return booking, order


def _refund(client, admin, payment_id, amount=None):
    body = {"payment_id": payment_id, "reason": "Refund"}
    if amount:
        body["amount"] = amount
    return client.post("/api/payments/refund", json=body, headers=auth_headers(admin))


# -- token and pay -------------------------------------------------------------------------------
def test_pay_uses_one_cached_oauth_token_and_the_booking_hold(client, phonepe, parent):
    booking = make_booking(parent, hold_seconds=900)
    order = open_payment(client, parent, booking)

    token_call = phonepe.token.calls[0].request
    assert token_call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_call.body) == {
        "client_id": [CLIENT_ID],
        "client_version": ["1"],
        "client_secret": [CLIENT_SECRET],
        "grant_type": ["client_credentials"],
    }
    pay = phonepe.pay.calls[0].request
    assert pay.headers["Authorization"] == f"O-Bearer {TOKEN}"
    body = json.loads(pay.body)
    assert body["merchantOrderId"] == order["provider_order_id"]
    assert body["amount"] == PRICE  # paise, from the booking
    assert 880 <= body["expireAfter"] <= 900  # what is left of the hold
    assert body["paymentFlow"]["type"] == "PG_CHECKOUT"
    assert body["paymentFlow"]["merchantUrls"]["redirectUrl"].endswith(
        f"/payments/phonepe/return/{order['provider_order_id']}"
    )
    assert order["checkout"]["redirect_url"] == REDIRECT
    assert CLIENT_SECRET not in json.dumps(order)

    # A second parent's payment reuses the token.
    other = make_booking(parent, hold_seconds=60)
    open_payment(client, parent, other)
    assert phonepe.token.call_count == 1
    # A hold with a minute left still gets PhonePe's five-minute minimum.
    assert json.loads(phonepe.pay.calls[1].request.body)["expireAfter"] == 300


AMBIGUOUS_PAY = [
    {"body": requests.exceptions.ReadTimeout("timed out")},
    {"status": 500, "json": {"code": "INTERNAL_SERVER_ERROR", "message": "retry"}},
    {"status": 503, "json": {"message": "upstream"}},
]
AMBIGUOUS_PAY_IDS = ["timeout", "internal-error", "503"]
STATUS_ANY = re.compile(rf"{HOST}/checkout/v2/order/NBT[0-9A-F]+/status")


def _pay_ids(phonepe) -> list[str]:
    return [json.loads(c.request.body)["merchantOrderId"] for c in phonepe.calls
            if c.request.url.endswith("/checkout/v2/pay")]


@pytest.mark.parametrize("answer", AMBIGUOUS_PAY, ids=AMBIGUOUS_PAY_IDS)
def test_an_unclear_pay_answer_for_an_order_phonepe_lacks_is_sent_again(
    client, phonepe, parent, answer
):
    phonepe.remove(responses.POST, f"{HOST}/checkout/v2/pay")
    phonepe.post(f"{HOST}/checkout/v2/pay", **answer)
    phonepe.post(f"{HOST}/checkout/v2/pay", json={
        "orderId": "OMO2403282020198641071318", "state": "PENDING",
        "expireAt": 1703756259307, "redirectUrl": REDIRECT})
    status = phonepe.get(STATUS_ANY, status=404,
                         json={"code": "NOT_FOUND", "message": "Order not found"})
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    ids = _pay_ids(phonepe)
    # Asked first, then sent again under the same merchantOrderId: one order at PhonePe.
    assert ids == [order["provider_order_id"]] * 2
    assert status.calls[0].request.url.endswith(f"/order/{ids[0]}/status")
    assert order["checkout"]["redirect_url"] == REDIRECT
    assert reload(Payment, order["payment_id"]).status == "created"


@pytest.mark.parametrize("state", ["PENDING", "unclear"])
def test_an_order_opened_without_its_pay_page_is_not_paid_twice(client, phonepe, parent, state):
    phonepe.remove(responses.POST, f"{HOST}/checkout/v2/pay")
    pay = phonepe.post(f"{HOST}/checkout/v2/pay",
                       body=requests.exceptions.ReadTimeout("timed out"))
    if state == "PENDING":
        phonepe.get(STATUS_ANY, json={"merchantOrderId": "x", "state": "PENDING",
                                      "amount": PRICE, "paymentDetails": []})
    else:
        phonepe.get(STATUS_ANY, status=503, json={"message": "upstream"})
    booking = make_booking(parent)
    resp = client.post("/api/payments/create", json={"booking_id": booking.id},
                       headers=auth_headers(parent))
    # PhonePe has (or may have) the order, but no one can pay it without the pay page: the
    # parent is told to retry, nothing was charged and nothing is left open on our side.
    assert resp.status_code == 502
    assert error_code(resp) == "payment_gateway_error"
    assert pay.call_count == 1  # never sent twice under an id PhonePe may hold
    assert db.session.query(Payment).filter_by(booking_id=booking.id).count() == 0
    assert reload(Booking, booking.id).status == "pending_payment"

    phonepe.replace(responses.POST, f"{HOST}/checkout/v2/pay", json={
        "orderId": "OMO2", "state": "PENDING", "expireAt": 1703756259307,
        "redirectUrl": REDIRECT})
    order = open_payment(client, parent, booking)
    ids = _pay_ids(phonepe)
    assert len(ids) == 2 and ids[1] == order["provider_order_id"] != ids[0]
    assert order["checkout"]["redirect_url"] == REDIRECT


def test_token_is_refreshed_shortly_before_it_expires(app, phonepe):
    phonepe.replace(
        responses.POST, f"{HOST}/v1/oauth/token",
        json=token_body("first", lifetime=REFRESH_MARGIN_SECONDS + 30),
    )
    gateway = PhonePeV2Gateway(app.config)
    assert gateway.tokens.get(gateway._fetch_token).value == "first"
    assert gateway.tokens.get(gateway._fetch_token).value == "first"
    # Thirty-one seconds later it is inside the margin: fetched again.
    later = time.time() + 31
    gateway.tokens.clock = lambda: later
    phonepe.replace(responses.POST, f"{HOST}/v1/oauth/token", json=token_body("second"))
    assert gateway.tokens.get(gateway._fetch_token).value == "second"


def test_a_refused_token_is_replaced_once(app, phonepe):
    url = f"{HOST}/checkout/v2/order/NBTX1/status"
    phonepe.replace(responses.POST, f"{HOST}/v1/oauth/token", json=token_body("revoked"))
    gateway = PhonePeV2Gateway(app.config)
    gateway.tokens.get(gateway._fetch_token)  # cached, then revoked at PhonePe's end
    phonepe.replace(responses.POST, f"{HOST}/v1/oauth/token", json=token_body("renewed"))
    bearer = responses.matchers.header_matcher
    phonepe.get(url, status=401, json={"code": "401", "message": "Unauthorized"},
                match=[bearer({"Authorization": "O-Bearer revoked"})])
    phonepe.get(url, json=order_status("NBTX1", state="PENDING"),
                match=[bearer({"Authorization": "O-Bearer renewed"})])
    assert gateway.fetch_payment("NBTX1", None).status == "pending"
    assert gateway.tokens.get(gateway._fetch_token).value == "renewed"

    # A token refused twice is a configuration problem, not something to retry for ever.
    phonepe.replace(responses.POST, f"{HOST}/v1/oauth/token", json=token_body("also-refused"))
    phonepe.add(responses.GET, f"{HOST}/checkout/v2/order/NBTX2/status", status=401,
                json={"code": "401"})
    gateway.tokens.forget(gateway.tokens.get(gateway._fetch_token))
    with pytest.raises(GatewayError) as refused:
        gateway.fetch_payment("NBTX2", None)
    assert not refused.value.transient


def test_concurrent_callers_fetch_the_token_once(app, phonepe, monkeypatch):
    """Eight workers find no token at once: one fetches, the others wait for it. The control
    (lock switched off) shows the race is real: each one fetches."""

    def slow_token(request):
        time.sleep(0.3)
        return 200, {}, json.dumps(token_body())

    def race() -> int:
        phonepe.replace(responses.POST, f"{HOST}/v1/oauth/token", body="")
        phonepe.remove(responses.POST, f"{HOST}/v1/oauth/token")
        phonepe.add_callback(responses.POST, f"{HOST}/v1/oauth/token", callback=slow_token)
        conn = redis_lib.Redis.from_url(app.config["REDIS_URL"])
        conn.flushdb()
        barrier = threading.Barrier(8, timeout=10)
        got = []

        def worker():
            gateway = PhonePeV2Gateway(app.config, redis=conn)
            barrier.wait()
            got.append(gateway.tokens.get(gateway._fetch_token).value)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "a token fetch hung"
        assert got == [TOKEN] * 8
        return sum(1 for c in phonepe.calls if c.request.url.endswith("/v1/oauth/token"))

    before = len(phonepe.calls)
    assert race() - before == 1
    monkeypatch.setattr(TokenCache, "refresh_lock", lambda self: nullcontext())
    before = sum(1 for c in phonepe.calls if c.request.url.endswith("/v1/oauth/token"))
    assert race() - before > 1


# -- webhooks -------------------------------------------------------------------------------------
def test_webhook_authenticated_by_the_configured_pair_captures_once(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    payload = order_status(order["provider_order_id"])

    for forged in ("", hook_auth(password="guess"), hook_auth().upper()[:-1] + "0"):
        resp = webhook(client, "checkout.order.completed", payload, auth=forged)
        assert resp.status_code == 401
        assert error_code(resp) == "invalid_signature"
    assert reload(Payment, order["payment_id"]).status == "created"

    resp = webhook(client, "checkout.order.completed", payload)
    assert resp.status_code == 200
    assert resp.get_json()["result"] == "captured"
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.provider_payment_id, payment.method) == (
        "captured", "OM2403282020198651071949", "upi_qr",
    )
    assert reload(Booking, booking.id).status == "confirmed"
    assert webhook(client, "checkout.order.completed", payload).get_json()["status"] == "duplicate"
    assert len(transitions(payment.id, "captured")) == 1
    assert messages("booking_confirmed", booking.id) == 1


def test_webhook_without_a_configured_pair_verifies_nothing(client, phonepe, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHONEPE_WEBHOOK_PASSWORD", "")
    resp = webhook(client, "checkout.order.completed", order_status("NBTX"),
                   auth=hook_auth(password=""))
    assert resp.status_code == 401


def test_failed_order_event_and_the_state_decides(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    mtid = order["provider_order_id"]
    # An attempt failed but the order is still open: nothing changes.
    pending = order_status(mtid, state="PENDING")
    assert webhook(client, "pg.transaction.failed", pending).get_json()["result"] == "ignored"
    assert reload(Payment, order["payment_id"]).status == "created"
    # An event name that says "completed" over a payload that does not is not a capture.
    assert webhook(client, "checkout.order.completed", pending).get_json()["result"] == "ignored"
    resp = webhook(client, "checkout.order.failed", order_status(mtid, state="FAILED"))
    assert resp.get_json()["result"] == "failed"
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.failure_reason) == ("failed", "PAYMENT_ERROR")


def test_webhook_with_a_wrong_amount_never_confirms(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    resp = webhook(client, "checkout.order.completed",
                   order_status(order["provider_order_id"], amount=100))
    assert resp.get_json()["result"] == "amount_mismatch"
    assert reload(Booking, booking.id).status == "pending_payment"


# -- order status ---------------------------------------------------------------------------------
def test_return_page_asks_the_order_status_api(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    mtid = order["provider_order_id"]
    status = _status(phonepe, mtid, order_status(mtid))
    page = client.get(f"/payments/phonepe/return/{mtid}")
    assert page.status_code == 200
    assert b'data-status="captured"' in page.data
    assert status.calls[0].request.headers["Authorization"] == f"O-Bearer {TOKEN}"
    assert reload(Booking, booking.id).status == "confirmed"


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 200, "json": "PENDING"},
        {"status": 500, "json": {"code": "INTERNAL_SERVER_ERROR", "message": "x"}},
        {"status": 503, "json": {"message": "upstream"}},
        {"body": requests.exceptions.ReadTimeout("timed out")},
    ],
    ids=["pending", "internal-error", "503", "timeout"],
)
def test_an_ambiguous_status_leaves_the_payment_open(client, phonepe, parent, answer):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    mtid = order["provider_order_id"]
    url = f"{HOST}/checkout/v2/order/{mtid}/status"
    if "body" in answer:
        phonepe.get(url, body=answer["body"])
    elif answer["json"] == "PENDING":
        phonepe.get(url, json=order_status(mtid, state="PENDING"))
    else:
        phonepe.get(url, status=answer["status"], json=answer["json"])
    db.session.execute(
        update(Payment).where(Payment.id == order["payment_id"])
        .values(created_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    outcome = reconcile_stuck_payments()
    assert outcome in ({"pending": 1}, {"gateway_error": 1})
    assert reload(Payment, order["payment_id"]).status == "created"
    assert reload(Booking, booking.id).status == "pending_payment"

    # The next sweep finds the answer and settles it.
    phonepe.replace(responses.GET, url, json=order_status(mtid))
    db.session.execute(
        update(Payment).where(Payment.id == order["payment_id"])
        .values(last_checked_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert reconcile_stuck_payments() == {"captured": 1}


# -- refunds --------------------------------------------------------------------------------------
def test_refund_is_placed_under_our_reference_and_finished_by_webhook(
    client, phonepe, parent, admin
):
    from nibog.payments.tasks import refund_reference

    booking, order = _captured(client, phonepe, parent)
    refund_call = phonepe.post(
        f"{HOST}/payments/v2/refund",
        json={"refundId": "OMR7878098045517540996", "amount": 20000, "state": "PENDING"},
    )
    resp = _refund(client, admin, order["payment_id"], 20000)
    assert resp.status_code == 201, resp.get_json()
    row = reload(Refund, resp.get_json()["id"])
    sent = json.loads(refund_call.calls[0].request.body)
    assert sent == {
        "merchantRefundId": refund_reference(row),
        "originalMerchantOrderId": order["provider_order_id"],
        "amount": 20000,
    }
    assert (row.status, row.provider_refund_id) == ("pending", "OMR7878098045517540996")

    refund_payload = {
        "merchantId": "M22SANDBOX",
        "merchantRefundId": refund_reference(row),
        "originalMerchantOrderId": order["provider_order_id"],
        "refundId": "OMR7878098045517540996",
        "amount": 20000,
        "state": "COMPLETED",
        "timestamp": 1730869961754,
        "splitInstruments": [{"amount": 20000, "rail": {"type": "UPI", "utr": "586756785"}}],
    }
    resp = webhook(client, "pg.refund.completed", refund_payload)
    assert resp.get_json()["result"] == "refund_processed"
    assert reload(Refund, row.id).status == "processed"
    assert reload(Payment, order["payment_id"]).status == "partially_refunded"
    assert messages("refund_processed", booking.id) == 1
    assert webhook(client, "pg.refund.completed", refund_payload).get_json()["status"] == (
        "duplicate"
    )


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "json": {"code": "INTERNAL_SERVER_ERROR", "message": "retry"}},
        {"status": 200, "json": {"code": "TIMED_OUT", "message": "timed out"}},
        {"body": requests.exceptions.ConnectTimeout("timed out")},
    ],
    ids=["internal-error", "timed-out", "timeout"],
)
def test_an_ambiguous_refund_answer_is_settled_by_the_status_check(
    client, phonepe, parent, admin, answer
):
    booking, order = _captured(client, phonepe, parent)
    phonepe.post(f"{HOST}/payments/v2/refund", **answer)
    lookup = phonepe.get(
        re.compile(rf"{HOST}/payments/v2/refund/NBR\d+T\d+/status"),
        json={"originalMerchantOrderId": order["provider_order_id"], "amount": PRICE,
              "state": "PENDING", "refundId": "OMR1", "timestamp": 1730869961754},
    )
    resp = _refund(client, admin, order["payment_id"])
    assert resp.status_code == 201
    assert lookup.call_count == 1
    row = reload(Refund, resp.get_json()["id"])
    # Still pending (PhonePe has it), and the money stays reserved: nothing to refund again.
    assert (row.status, row.provider_refund_id) == ("pending", "OMR1")
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)
    again = _refund(client, admin, order["payment_id"])
    assert again.status_code == 409
    assert error_code(again) == "payment_not_refundable"


def test_a_refund_phonepe_does_not_know_after_a_timeout_stays_pending(
    client, phonepe, parent, admin
):
    booking, order = _captured(client, phonepe, parent)
    phonepe.post(f"{HOST}/payments/v2/refund", body=requests.exceptions.ReadTimeout("slow"))
    status_url = re.compile(rf"{HOST}/payments/v2/refund/NBR\d+T\d+/status")
    phonepe.get(status_url, status=404, json={"code": "NOT_FOUND", "message": "No refund"})
    resp = _refund(client, admin, order["payment_id"])
    assert resp.status_code == 201
    row = reload(Refund, resp.get_json()["id"])
    assert (row.status, row.provider_refund_id) == ("pending", None)
    assert reload(Payment, order["payment_id"]).amount_refunded == PRICE

    # The retry places it, under the same merchantRefundId.
    phonepe.replace(
        responses.POST, f"{HOST}/payments/v2/refund",
        json={"refundId": "OMR2", "amount": PRICE, "state": "PENDING"},
    )
    assert boundary.run_unit(process_refund, row.id) == "pending"
    refund_posts = [c for c in phonepe.calls if c.request.url.endswith("/payments/v2/refund")]
    assert len({json.loads(c.request.body)["merchantRefundId"] for c in refund_posts}) == 1
    assert reload(Refund, row.id).provider_refund_id == "OMR2"


def test_refund_status_check_finishes_or_fails_a_refund(client, phonepe, parent, admin):
    booking, order = _captured(client, phonepe, parent)
    phonepe.post(
        f"{HOST}/payments/v2/refund", json={"refundId": "OMR3", "amount": 10000, "state": "PENDING"}
    )
    first = reload(Refund, _refund(client, admin, order["payment_id"], 10000).get_json()["id"])
    status_url = re.compile(rf"{HOST}/payments/v2/refund/NBR\d+T\d+/status")
    phonepe.get(status_url, json={"refundId": "OMR3", "amount": 10000, "state": "PENDING"})
    assert boundary.run_unit(check_refund, first.id) == "pending"
    assert reload(Refund, first.id).status == "pending"

    phonepe.replace(
        responses.GET, status_url,
        json={"refundId": "OMR3", "amount": 10000, "state": "FAILED",
              "errorCode": "INTERNAL_SERVER_ERROR", "detailedErrorCode": ""},
    )
    # PhonePe's final state decides, whatever errorCode explains it.
    assert boundary.run_unit(check_refund, first.id) == "failed"
    assert reload(Refund, first.id).status == "failed"
    assert reload(Payment, order["payment_id"]).amount_refunded == 0


def test_a_definite_refusal_fails_the_refund(client, phonepe, parent, admin):
    booking, order = _captured(client, phonepe, parent)
    phonepe.post(
        f"{HOST}/payments/v2/refund", status=400,
        json={"code": "BAD_REQUEST", "message": "Refund amount exceeds"},
    )
    phonepe.get(re.compile(rf"{HOST}/payments/v2/refund/NBR\d+T\d+/status"), status=404,
                json={"code": "NOT_FOUND"})
    row = reload(Refund, _refund(client, admin, order["payment_id"]).get_json()["id"])
    assert row.status == "failed"
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.amount_refunded) == ("captured", 0)


# -- webhook event types --------------------------------------------------------------------------
def _post_hook(client, body: dict, auth: str):
    return client.post("/webhooks/payment/phonepe", data=json.dumps(body),
                       headers={"Authorization": auth, "Content-Type": "application/json"})


def _pending_refund(client, phonepe, parent, admin, refund_id="OMR9"):
    booking, order = _captured(client, phonepe, parent)
    phonepe.post(f"{HOST}/payments/v2/refund",
                 json={"refundId": refund_id, "amount": PRICE, "state": "PENDING"})
    row = reload(Refund, _refund(client, admin, order["payment_id"]).get_json()["id"])
    assert row.status == "pending"
    assert reload(Payment, order["payment_id"]).amount_refunded == PRICE  # reserved
    return order, row


def _refund_payload(order, row, state, refund_id="OMR9"):
    from nibog.payments.tasks import refund_reference

    payload = {
        "merchantId": "M22SANDBOX", "merchantRefundId": refund_reference(row),
        "originalMerchantOrderId": order["provider_order_id"], "refundId": refund_id,
        "amount": PRICE, "state": state, "timestamp": 1730869961754,
    }
    if state == "FAILED":
        payload.update(errorCode="REFUND_FAILED", detailedErrorCode="BANK_DECLINED")
    return payload


def test_refund_failed_event_releases_the_reservation_for_a_retry(client, phonepe, parent, admin):
    order, row = _pending_refund(client, phonepe, parent, admin)
    resp = webhook(client, "pg.refund.failed", _refund_payload(order, row, "FAILED"))
    assert resp.get_json()["result"] == "refund_failed"
    assert reload(Refund, row.id).status == "failed"
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.amount_refunded) == ("captured", 0)
    # The money is refundable again: support can retry, under a new merchantRefundId.
    phonepe.replace(responses.POST, f"{HOST}/payments/v2/refund",
                    json={"refundId": "OMR10", "amount": PRICE, "state": "PENDING"})
    again = _refund(client, admin, order["payment_id"])
    assert again.status_code == 201, again.get_json()
    retry = reload(Refund, again.get_json()["id"])
    assert (retry.status, retry.provider_refund_id) == ("pending", "OMR10")
    assert reload(Payment, order["payment_id"]).amount_refunded == PRICE


def test_refund_accepted_event_changes_nothing(client, phonepe, parent, admin):
    order, row = _pending_refund(client, phonepe, parent, admin)
    # PhonePe's "accepted" (state CONFIRMED) is not paid out yet: the refund stays open.
    resp = webhook(client, "pg.refund.accepted", _refund_payload(order, row, "CONFIRMED"))
    assert resp.status_code == 200 and resp.get_json()["result"] == "ignored"
    refund = reload(Refund, row.id)
    assert (refund.status, refund.processed_at) == ("pending", None)
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)
    # Then the completed event finishes it.
    done = webhook(client, "pg.refund.completed", _refund_payload(order, row, "COMPLETED"))
    assert done.get_json()["result"] == "refund_processed"
    assert reload(Refund, row.id).status == "processed"


def test_a_body_with_only_the_old_type_field_is_read(client, phonepe, parent, admin):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    body = {"type": "CHECKOUT_ORDER_COMPLETED", "payload": order_status(order["provider_order_id"])}
    resp = _post_hook(client, body, hook_auth())
    assert resp.get_json()["result"] == "captured"
    assert reload(Payment, order["payment_id"]).status == "captured"
    assert reload(Booking, booking.id).status == "confirmed"
    # An unknown type is recorded and ignored, never read as an order outcome.
    other = {"type": "SOMETHING_NEW", "payload": order_status("NBTUNKNOWN", state="FAILED")}
    assert _post_hook(client, other, hook_auth()).get_json()["result"] == "ignored"


def test_authorization_with_a_sha256_prefix_is_accepted(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    body = {"event": "checkout.order.completed",
            "payload": order_status(order["provider_order_id"])}
    wrong = _post_hook(client, body, "SHA256 " + hook_auth(password="guess"))
    assert wrong.status_code == 401
    assert reload(Payment, order["payment_id"]).status == "created"
    resp = _post_hook(client, body, "SHA256 " + hook_auth())
    assert resp.status_code == 200 and resp.get_json()["result"] == "captured"
    assert reload(Booking, booking.id).status == "confirmed"

"""PAYMENT_PROVIDER=phonepe, PHONEPE_API=v1: pay request, S2S callback, status check, refund (no network)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import timedelta

import pytest
import responses
from sqlalchemy import update

from nibog.booking.models import Booking
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.payments.models import Payment, Refund
from nibog.payments.tasks import reconcile_stuck_payments
from tests.helpers import auth_headers, error_code
from tests.payments.support import PRICE, make_booking, messages, open_payment, reload, transitions

HOST = "https://api-preprod.phonepe.com/apis/pg-sandbox"
MID, SALT, INDEX = "PGTESTPAYUAT", "099eb0cd-02cf-4e2a-8aca-3e6c6aff0399", "1"
REDIRECT = "https://mercury-uat.phonepe.com/transact/simulator?token=Yz1Nq9"


@pytest.fixture
def phonepe(app, monkeypatch):
    for key, value in (
        ("PAYMENT_PROVIDER", "phonepe"),
        ("PHONEPE_MERCHANT_ID", MID),
        ("PHONEPE_SALT_KEY", SALT),
        ("PHONEPE_SALT_INDEX", INDEX),
        ("PHONEPE_ENV", "uat"),
        ("PHONEPE_API", "v1"),
    ):
        monkeypatch.setitem(app.config, key, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(
            f"{HOST}/pg/v1/pay",
            json={
                "success": True,
                "code": "PAYMENT_INITIATED",
                "message": "Payment Iniiated",
                "data": {
                    "merchantId": MID,
                    "merchantTransactionId": "ignored",
                    "instrumentResponse": {
                        "type": "PAY_PAGE",
                        "redirectInfo": {"url": REDIRECT, "method": "GET"},
                    },
                },
            },
        )
        yield rsps


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def outcome(mtid: str, code="PAYMENT_SUCCESS", state="COMPLETED", amount=PRICE, txn="T2312011"):
    return {
        "success": code == "PAYMENT_SUCCESS",
        "code": code,
        "message": "Your payment is done",
        "data": {
            "merchantId": MID,
            "merchantTransactionId": mtid,
            "transactionId": txn,
            "amount": amount,
            "state": state,
            "responseCode": "SUCCESS",
            "paymentInstrument": {"type": "UPI", "utr": "206378866112"},
        },
    }


def callback(client, body: dict, verify: str | None = None):
    encoded = base64.b64encode(json.dumps(body).encode()).decode()
    return client.post(
        "/webhooks/payment/phonepe",
        json={"response": encoded},
        headers={"X-VERIFY": verify or f"{sha(encoded + SALT)}###{INDEX}"},
    )


def test_pay_request_is_signed_on_the_server(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    call = phonepe.calls[0]
    encoded = json.loads(call.request.body)["request"]
    assert call.request.headers["X-VERIFY"] == f"{sha(encoded + '/pg/v1/pay' + SALT)}###{INDEX}"
    payload = json.loads(base64.b64decode(encoded))
    assert payload["merchantId"] == MID
    assert payload["amount"] == PRICE  # from the booking
    assert payload["merchantTransactionId"] == order["provider_order_id"]
    assert payload["callbackUrl"].endswith("/webhooks/payment/phonepe")
    assert payload["redirectUrl"].endswith(
        f"/payments/phonepe/return/{payload['merchantTransactionId']}"
    )
    assert payload["paymentInstrument"] == {"type": "PAY_PAGE"}
    assert order["provider"] == "phonepe"
    assert order["checkout"] == {
        "type": "redirect",
        "redirect_url": REDIRECT,
        "method": "GET",
        "merchant_transaction_id": order["provider_order_id"],
    }
    assert SALT not in json.dumps(order)


def test_s2s_callback_captures_once_and_replays_are_harmless(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    body = outcome(order["provider_order_id"])

    forged = callback(client, body, verify=f"{sha('x')}###{INDEX}")
    assert forged.status_code == 401
    assert error_code(forged) == "invalid_signature"
    assert reload(Payment, order["payment_id"]).status == "created"

    resp = callback(client, body)
    assert resp.status_code == 200
    assert resp.get_json()["result"] == "captured"
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.provider_payment_id, payment.method) == (
        "captured",
        "T2312011",
        "upi",
    )
    assert reload(Booking, booking.id).status == "confirmed"

    assert callback(client, body).get_json()["status"] == "duplicate"
    assert len(transitions(payment.id, "captured")) == 1
    assert messages("booking_confirmed", booking.id) == 1


def test_callback_with_a_wrong_amount_never_confirms(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    resp = callback(client, outcome(order["provider_order_id"], amount=100))
    assert resp.get_json()["result"] == "amount_mismatch"
    assert reload(Booking, booking.id).status == "pending_payment"


def test_failed_callback_marks_the_payment_failed(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    body = outcome(order["provider_order_id"], code="PAYMENT_ERROR", state="FAILED")
    assert callback(client, body).get_json()["result"] == "failed"
    assert reload(Payment, order["payment_id"]).status == "failed"


def _status(phonepe, mtid: str, body: dict):
    path = f"/pg/v1/status/{MID}/{mtid}"
    return phonepe.get(
        f"{HOST}{path}",
        json=body,
        match=[
            responses.matchers.header_matcher(
                {"X-VERIFY": f"{sha(path + SALT)}###{INDEX}", "X-MERCHANT-ID": MID}
            )
        ],
    )


def test_confirm_after_redirect_asks_the_status_api(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    status = _status(phonepe, order["provider_order_id"], outcome(order["provider_order_id"]))
    resp = client.post(
        "/api/payments/confirm",
        json={"payment_id": order["payment_id"]},
        headers=auth_headers(parent),
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "captured"
    assert status.call_count == 1
    # The S2S callback arriving afterwards finds the work done.
    assert callback(client, outcome(order["provider_order_id"])).get_json()["result"] == (
        "already_captured"
    )
    assert messages("booking_confirmed", booking.id) == 1


def test_the_return_page_settles_through_the_status_api(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    _status(phonepe, order["provider_order_id"], outcome(order["provider_order_id"]))
    page = client.post(
        f"/payments/phonepe/return/{order['provider_order_id']}", data={"code": "PAYMENT_SUCCESS"}
    )
    assert page.status_code == 200
    assert b'data-status="captured"' in page.data
    assert reload(Booking, booking.id).status == "confirmed"


def test_stuck_payment_is_reconciled(client, phonepe, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    _status(
        phonepe,
        order["provider_order_id"],
        outcome(order["provider_order_id"], code="PAYMENT_PENDING", state="PENDING"),
    )
    db.session.execute(
        update(Payment)
        .where(Payment.id == order["payment_id"])
        .values(created_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert reconcile_stuck_payments() == {"pending": 1}

    phonepe.replace(
        responses.GET,
        f"{HOST}/pg/v1/status/{MID}/{order['provider_order_id']}",
        json=outcome(order["provider_order_id"]),
    )
    db.session.execute(
        update(Payment)
        .where(Payment.id == order["payment_id"])
        .values(last_checked_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert reconcile_stuck_payments() == {"captured": 1}
    assert reload(Booking, booking.id).status == "confirmed"


def test_refund_is_a_signed_request(client, phonepe, parent, admin):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    callback(client, outcome(order["provider_order_id"]))
    refund_call = phonepe.post(
        f"{HOST}/pg/v1/refund",
        json={
            "success": True,
            "code": "PAYMENT_SUCCESS",
            "message": "Refund done",
            "data": {
                "merchantId": MID,
                "merchantTransactionId": "x",
                "transactionId": "TR77",
                "amount": 20000,
                "state": "COMPLETED",
                "responseCode": "SUCCESS",
            },
        },
    )

    resp = client.post(
        "/api/payments/refund",
        json={"payment_id": order["payment_id"], "amount": 20000, "reason": "Partial"},
        headers=auth_headers(admin),
    )
    assert resp.status_code == 201
    encoded = json.loads(refund_call.calls[0].request.body)["request"]
    assert refund_call.calls[0].request.headers["X-VERIFY"] == (
        f"{sha(encoded + '/pg/v1/refund' + SALT)}###{INDEX}"
    )
    payload = json.loads(base64.b64decode(encoded))
    assert (payload["originalTransactionId"], payload["amount"]) == (
        order["provider_order_id"],
        20000,
    )
    row = reload(Refund, resp.get_json()["id"])
    assert (row.status, row.provider_refund_id) == ("processed", "TR77")
    assert reload(Payment, order["payment_id"]).status == "partially_refunded"


@pytest.mark.commits  # a race between threads
def test_callback_and_status_check_together_capture_once(client, phonepe, app, parent):
    """PhonePe's S2S callback and the parent's return (status API) arrive at the same moment."""
    import threading

    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    mtid = order["provider_order_id"]
    _status(phonepe, mtid, outcome(mtid))
    encoded = base64.b64encode(json.dumps(outcome(mtid)).encode()).decode()
    verify = f"{sha(encoded + SALT)}###{INDEX}"
    headers = auth_headers(parent)
    barrier = threading.Barrier(3, timeout=30)
    codes = {}

    def run(name, fn):
        local = app.test_client()
        barrier.wait()
        codes[name] = fn(local).status_code

    calls = {
        "callback": lambda c: c.post(
            "/webhooks/payment/phonepe", json={"response": encoded}, headers={"X-VERIFY": verify}
        ),
        "confirm": lambda c: c.post(
            "/api/payments/confirm", json={"payment_id": order["payment_id"]}, headers=headers
        ),
        "return": lambda c: c.get(f"/payments/phonepe/return/{mtid}"),
    }
    threads = [threading.Thread(target=run, args=item, daemon=True) for item in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a PhonePe path hung"

    assert codes == {"callback": 200, "confirm": 200, "return": 200}
    assert len(transitions(order["payment_id"], "captured")) == 1
    assert reload(Booking, booking.id).status == "confirmed"
    assert messages("booking_confirmed", booking.id) == 1


def _callback_during_status_check(client, phonepe, app, parent):
    """PhonePe's callback has read the open payment (its row lock, if on, held) when the
    reconciler's status check for the same payment runs."""
    from nibog.payments import service
    from tests.concurrency.race import interleave

    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    mtid, payment_id = order["provider_order_id"], order["payment_id"]
    _status(phonepe, mtid, outcome(mtid))
    encoded = base64.b64encode(json.dumps(outcome(mtid)).encode()).decode()
    verify = f"{sha(encoded + SALT)}###{INDEX}"

    def phonepe_callback(_):
        return app.test_client().post("/webhooks/payment/phonepe", json={"response": encoded},
                                      headers={"X-VERIFY": verify}).status_code

    results = interleave(app, phonepe_callback,
                         lambda _: service.reconcile_payment(payment_id), "payment_read")
    return results, len(transitions(payment_id, "captured")), booking


@pytest.mark.commits  # another connection commits during the test
@pytest.mark.parametrize("switched_off", [(), ("booking_lock",), ("payment_lock",)])
def test_a_status_check_during_the_callback_waits_and_captures_nothing(
        client, phonepe, app, parent, monkeypatch, switched_off):
    """Either row lock alone (booking, then payment) makes the status check wait."""
    from nibog.core import locking

    for guard in switched_off:
        monkeypatch.setattr(locking.guards, guard, False)
    results, captures, booking = _callback_during_status_check(client, phonepe, app, parent)
    assert results == [("ok", 200), ("ok", "already_captured")]
    assert captures == 1
    assert reload(Booking, booking.id).status == "confirmed"
    assert messages("booking_confirmed", booking.id) == 1


@pytest.mark.commits  # another connection commits during the test
def test_control_without_the_row_locks_callback_and_status_check_both_capture(
        client, phonepe, app, parent, monkeypatch):
    from nibog.core import locking

    monkeypatch.setattr(locking.guards, "booking_lock", False)
    monkeypatch.setattr(locking.guards, "payment_lock", False)
    results, captures, booking = _callback_during_status_check(client, phonepe, app, parent)
    # The status check captured and confirmed; the callback, working from the open payment
    # it had read, then recorded a second capture of the same money.
    assert results == [("ok", 200), ("ok", "captured")]
    assert captures == 2


def _captured_phonepe(client, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    callback(client, outcome(order["provider_order_id"]))
    return booking, order


def _refund(client, admin, payment_id, amount=None):
    body = {"payment_id": payment_id, "reason": "Refund"}
    if amount:
        body["amount"] = amount
    resp = client.post("/api/payments/refund", json=body, headers=auth_headers(admin))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def test_pending_refund_is_finished_by_phonepes_callback(client, phonepe, parent, admin):
    from nibog.payments.tasks import refund_reference

    booking, order = _captured_phonepe(client, parent)
    phonepe.post(
        f"{HOST}/pg/v1/refund",
        json={
            "success": True,
            "code": "PAYMENT_PENDING",
            "message": "pending",
            "data": {
                "merchantId": MID,
                "transactionId": "TR88",
                "amount": PRICE,
                "state": "PENDING",
            },
        },
    )
    refund_id = _refund(client, admin, order["payment_id"])
    row = reload(Refund, refund_id)
    assert (row.status, row.provider_refund_id) == ("pending", "TR88")

    reference = refund_reference(row)
    done = outcome(reference, txn="TR88")
    resp = callback(client, done)
    assert resp.get_json()["result"] == "refund_processed"
    assert reload(Refund, refund_id).status == "processed"
    assert reload(Payment, order["payment_id"]).status == "refunded"
    assert messages("refund_processed", booking.id) == 1
    # A callback for a reference we never issued changes nothing.
    assert callback(client, outcome("NBR999T1", txn="TRX")).get_json()["result"] == "unknown_refund"


def test_a_refund_refused_as_duplicate_is_looked_up(client, phonepe, parent, admin):
    booking, order = _captured_phonepe(client, parent)
    phonepe.post(
        f"{HOST}/pg/v1/refund",
        status=400,
        json={"success": False, "code": "DUPLICATE_TXN_REQUEST", "message": "dup"},
    )
    phonepe.get(
        re.compile(rf"{HOST}/pg/v1/status/{MID}/NBR\d+T\d+"),
        json={
            "success": True,
            "code": "PAYMENT_SUCCESS",
            "data": {"transactionId": "TR99", "amount": 10000, "state": "COMPLETED"},
        },
    )
    refund_id = _refund(client, admin, order["payment_id"], 10000)
    row = reload(Refund, refund_id)
    assert (row.status, row.provider_refund_id) == ("processed", "TR99")
    assert reload(Payment, order["payment_id"]).amount_refunded == 10000


@pytest.mark.parametrize(
    ("code", "lookup_code"),
    [("TIMED_OUT", "PAYMENT_PENDING"), ("INTERNAL_SERVER_ERROR", "TRANSACTION_NOT_FOUND"),
     ("PAYMENT_PENDING", "PAYMENT_PENDING")],
)
def test_an_ambiguous_refund_code_is_never_a_failure(client, phonepe, parent, admin, code,
                                                     lookup_code):
    """PhonePe: after these codes "the refund might get initiated; check the status before
    retrying". The refund stays pending and its amount stays reserved on the payment."""
    booking, order = _captured_phonepe(client, parent)
    phonepe.post(
        f"{HOST}/pg/v1/refund",
        status=500 if code == "INTERNAL_SERVER_ERROR" else 200,
        json={"success": False, "code": code, "message": "see status", "data": {}},
    )
    lookup = phonepe.get(
        re.compile(rf"{HOST}/pg/v1/status/{MID}/NBR\d+T\d+"),
        json={"success": False, "code": lookup_code, "message": "x",
              "data": {"state": "PENDING"} if lookup_code == "PAYMENT_PENDING" else {}},
    )
    refund_id = _refund(client, admin, order["payment_id"])
    row = reload(Refund, refund_id)
    assert row.status == "pending"
    assert lookup.call_count == (0 if code == "INTERNAL_SERVER_ERROR" else 1)
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)
    again = client.post(
        "/api/payments/refund",
        json={"payment_id": order["payment_id"], "reason": "again"},
        headers=auth_headers(admin),
    )
    assert error_code(again) == "payment_not_refundable"

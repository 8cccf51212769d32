"""Rules of nibog/payments/service.py that mutation testing found no test holding
(docs/testing.md, "Mutation testing"): what a parent is answered by confirm, what the gateway's
outages answer, and what a capture, a failure and the status poll leave for support to read
(history rows, flags, refund reasons). The sweep's selectors: test_mutants_payments.py."""

from __future__ import annotations

import base64
import json

import pytest
import responses
from sqlalchemy import select

from nibog.booking.access import hash_access_code
from nibog.booking.guests import attach_guest_bookings
from nibog.booking.models import Booking
from nibog.catalog.models import Event
from nibog.extensions import db
from nibog.payments.gateways.razorpay import order_signature
from nibog.payments.models import Payment, PaymentFlag, Refund
from nibog.payments.service import reconcile_payment
from tests.factories import GameSlotFactory
from tests.helpers import auth_headers
from tests.payments.support import (
    PRICE,
    confirm,
    create_payment,
    expire_hold,
    make_booking,
    open_payment,
    paid_on_a_second_order,
    post_webhook,
    reload,
    sandbox,
    transitions,
    webhook_for,
)

RAZORPAY = "https://api.razorpay.com/v1"
KEY_SECRET = "thisisasecret"


def _error(resp) -> dict:
    return resp.get_json()["error"]


def _flags(payment_id: int) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(f.kind, f.note) for f in db.session.scalars(
        select(PaymentFlag).where(PaymentFlag.payment_id == payment_id).order_by(PaymentFlag.id))]


def _refunds(payment_id: int) -> list[Refund]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)))


# -- create: the order and the refusals -----------------------------------------------------------
def test_the_checkout_is_prefilled_with_the_parents_or_the_guests_details(client, app, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    assert order["checkout"]["description"] == booking.booking_number
    assert order["checkout"]["prefill"] == {"name": parent.full_name, "email": parent.email,
                                            "contact": parent.phone}
    payment = reload(Payment, order["payment_id"])
    assert (payment.user_id, payment.provider, payment.amount) == (parent.id, "sandbox", PRICE)
    assert payment.raw["order"]["id"] == order["provider_order_id"]

    guest = make_booking(None, guest_email="guest@example.com")
    guest = db.session.get(Booking, guest.id)
    guest.access_code_hash = hash_access_code("K7M2Q9")
    db.session.commit()
    order = create_payment(client, None, guest, access_code="K7M2Q9").get_json()
    assert order["checkout"]["prefill"] == {"name": "Guest Parent",
                                            "email": "guest@example.com", "contact": ""}
    assert reload(Payment, order["payment_id"]).user_id is None


def test_phonepe_is_told_who_pays_a_parent_by_account_a_guest_as_guest(client, app, parent,
                                                                       monkeypatch):
    """PhonePe (v1) asks for the payer's id and phone: the parent's account and phone, or
    "GUEST" and the phone the guest gave."""
    host = "https://api-preprod.phonepe.com/apis/pg-sandbox"
    for key, value in (("PAYMENT_PROVIDER", "phonepe"), ("PHONEPE_API", "v1"),
                       ("PHONEPE_MERCHANT_ID", "PGTESTPAYUAT"), ("PHONEPE_ENV", "uat"),
                       ("PHONEPE_SALT_KEY", "099eb0cd-02cf-4e2a-8aca-3e6c6aff0399"),
                       ("PHONEPE_SALT_INDEX", "1")):
        monkeypatch.setitem(app.config, key, value)
    guest = make_booking(None, guest_email="guest@example.com")
    guest = db.session.get(Booking, guest.id)
    guest.access_code_hash = hash_access_code("K7M2Q9")
    guest.guest_phone = "+919000000001"
    db.session.commit()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(f"{host}/pg/v1/pay", json={
            "success": True, "code": "PAYMENT_INITIATED",
            "data": {"instrumentResponse": {"type": "PAY_PAGE", "redirectInfo": {
                "url": "https://mercury-uat.phonepe.com/transact/simulator", "method": "GET"}}}})
        open_payment(client, parent, make_booking(parent))
        assert create_payment(client, None, guest, access_code="K7M2Q9").status_code == 201
        sent = [json.loads(base64.b64decode(json.loads(call.request.body)["request"]))
                for call in rsps.calls]
    assert [(p["merchantUserId"], p["mobileNumber"]) for p in sent] == [
        (f"U{parent.id}", parent.phone[-10:]), ("GUEST", "9000000001")]


def test_a_guest_booking_claimed_by_an_account_is_no_longer_paid_with_its_code(client, parent):
    """Once the parent's new account took the guest booking over, the guest's access code no
    longer opens an order for it signed out: the account pays it."""
    booking = make_booking(None, guest_email=parent.email)
    booking = db.session.get(Booking, booking.id)
    booking.access_code_hash = hash_access_code("K7M2Q9")
    db.session.commit()
    assert attach_guest_bookings(parent) == 1
    db.session.commit()
    resp = create_payment(client, None, booking, access_code="K7M2Q9")
    assert (resp.status_code, _error(resp)["code"]) == (404, "not_found")
    assert create_payment(client, parent, booking).status_code == 201


def test_create_refusals_say_what_is_wrong(client, parent, other_parent):
    not_found = {"code": "not_found", "message": "Booking not found", "details": {}}
    resp = create_payment(client, parent, make_booking(other_parent))
    assert (resp.status_code, _error(resp)) == (404, not_found)
    resp = create_payment(client, None, make_booking(parent), access_code="K7M2Q9")
    assert (resp.status_code, _error(resp)) == (404, not_found)

    paid = make_booking(parent, status="confirmed")
    resp = create_payment(client, parent, paid)
    assert (resp.status_code, _error(resp)) == (409, {
        "code": "booking_not_payable",
        "message": f"Booking {paid.booking_number} is confirmed and cannot be paid",
        "details": {"status": "confirmed"}})

    lapsed = make_booking(parent, hold_seconds=-1)
    resp = create_payment(client, parent, lapsed)
    assert (resp.status_code, _error(resp)) == (409, {
        "code": "hold_expired", "message": "The seats hold has expired; please book again",
        "details": {"status": "expired"}})

    free = make_booking(parent, total=0)
    resp = create_payment(client, parent, free)
    assert (resp.status_code, _error(resp)) == (409, {
        "code": "booking_not_payable", "message": "This booking has nothing to pay",
        "details": {}})

    one_paisa = make_booking(parent, total=1)
    assert open_payment(client, parent, one_paisa)["amount"] == 1

    held = make_booking(parent)
    event = db.session.get(Event, held.event_id)
    event.status = "cancelled"
    db.session.commit()
    resp = create_payment(client, parent, held)
    assert (resp.status_code, _error(resp)) == (409, {
        "code": "booking_not_payable",
        "message": f"The event of booking {held.booking_number} is cancelled",
        "details": {"event_status": "cancelled"}})
    opened = [b.id for b in (paid, lapsed, free, held)
              if db.session.scalar(select(Payment.id).where(Payment.booking_id == b.id))]
    assert opened == []


# -- confirm: what the parent is answered -------------------------------------------------------
def test_confirm_without_the_payment_id_or_signature_names_each_missing_field(client, app,
                                                                               parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    required = ["Missing data for required field."]
    for provider_payment_id, signature, details in (
        (paid["payment"]["id"], None, {"signature": required}),
        (None, paid["signature"], {"provider_payment_id": required}),
        ("", "", {"provider_payment_id": required, "signature": required}),
    ):
        resp = confirm(client, parent, order["payment_id"], provider_payment_id, signature)
        assert resp.status_code == 422
        assert _error(resp) == {"code": "validation_error", "message": "Invalid input",
                                "details": details}
    assert reload(Payment, order["payment_id"]).status == "created"
    assert len(transitions(order["payment_id"])) == 1
    assert reload(Booking, booking.id).status == "pending_payment"


def test_a_bad_signature_is_answered_in_words_naming_the_signature(client, app, parent):
    order = open_payment(client, parent, make_booking(parent))
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    forged = order_signature(order["provider_order_id"], paid["payment"]["id"], "not-the-secret")
    resp = confirm(client, parent, order["payment_id"], paid["payment"]["id"], forged)
    assert resp.status_code == 422
    assert _error(resp) == {"code": "invalid_signature",
                            "message": "The payment signature does not verify",
                            "details": {"signature": ["does not match this order and payment"]}}


def test_confirm_of_a_missing_or_someone_elses_payment_is_payment_not_found(
        client, app, parent, other_parent):
    order = open_payment(client, parent, make_booking(parent))
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    for user, payment_id in ((parent, 999_999_999), (other_parent, order["payment_id"]),
                             (None, order["payment_id"])):  # signed out: not the owner either
        resp = confirm(client, user, payment_id, paid["payment"]["id"], paid["signature"])
        assert resp.status_code == 404, (user, resp.get_json())
        assert _error(resp) == {"code": "not_found", "message": "Payment not found",
                                "details": {}}
    assert reload(Payment, order["payment_id"]).status == "created"
    resp = confirm(client, parent, order["payment_id"], paid["payment"]["id"], paid["signature"])
    assert resp.get_json()["status"] == "captured"


def test_the_parents_confirm_is_recorded_as_the_apis(client, app, parent):
    order = open_payment(client, parent, make_booking(parent))
    paid = sandbox(app).simulate_payment(order["provider_order_id"], method="netbanking")
    confirm(client, parent, order["payment_id"], paid["payment"]["id"], paid["signature"])
    history = transitions(order["payment_id"])
    assert [(c.from_status, c.to_status, c.source, c.note) for c in history] == [
        (None, "created", "api", f"order {order['provider_order_id']}"),
        ("created", "captured", "api", f"payment {paid['payment']['id']}"),
    ]
    payment = reload(Payment, order["payment_id"])
    assert payment.captured_at is not None
    assert payment.method == "netbanking"


def test_an_order_stays_with_its_gateway_after_the_site_switches_provider(client, app, parent,
                                                                          monkeypatch):
    """Opened with the sandbox, confirmed after PAYMENT_PROVIDER became razorpay: verified and
    asked about with the sandbox (Razorpay is not even reachable here)."""
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    monkeypatch.setitem(app.config, "PAYMENT_PROVIDER", "razorpay")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        resp = confirm(client, parent, order["payment_id"], paid["payment"]["id"],
                       paid["signature"])
        assert len(rsps.calls) == 0
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "captured"
    assert reload(Booking, booking.id).status == "confirmed"


def test_the_poll_asks_the_gateway_the_order_was_opened_with(client, app, parent,
                                                             monkeypatch):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    sandbox(app).simulate_payment(order["provider_order_id"])
    monkeypatch.setitem(app.config, "PAYMENT_PROVIDER", "razorpay")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        assert reconcile_payment(order["payment_id"]) == "captured"
        assert len(rsps.calls) == 0
    assert reload(Booking, booking.id).status == "confirmed"


def test_a_second_capture_on_a_paid_order_is_flagged_not_taken(client, app, parent):
    """The parent's bank pushed a second attempt on the same order through: the first capture
    stays, the second is flagged for support (its money must go back by hand)."""
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    first = sandbox(app).simulate_payment(order["provider_order_id"])
    confirm(client, parent, order["payment_id"], first["payment"]["id"], first["signature"])
    second = sandbox(app).simulate_payment(order["provider_order_id"])
    resp = confirm(client, parent, order["payment_id"], second["payment"]["id"],
                   second["signature"])
    assert resp.status_code == 200
    assert (resp.get_json()["status"], resp.get_json()["provider_payment_id"]) == (
        "captured", first["payment"]["id"])
    second_id = second["payment"]["id"]
    assert _flags(order["payment_id"]) == [
        ("duplicate_capture", f"second capture {second_id} on a paid order")]
    assert len(transitions(order["payment_id"], "captured")) == 2  # the capture and the flag
    # The same second capture told by the webhook is flagged once more, the first is done.
    resp = post_webhook(client, *webhook_for(app, "payment.captured", first["payment"]))
    assert resp.get_json()["result"] == "already_captured"
    resp = post_webhook(client, *webhook_for(app, "payment.captured", second["payment"]))
    assert resp.get_json()["result"] == "duplicate_capture_flagged"


# -- gateway outages ----------------------------------------------------------------------------
@pytest.fixture
def razorpay(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENT_PROVIDER", "razorpay")
    monkeypatch.setitem(app.config, "RAZORPAY_KEY_ID", "rzp_test_1DP5mmOlF5G5ag")
    monkeypatch.setitem(app.config, "RAZORPAY_KEY_SECRET", KEY_SECRET)
    monkeypatch.setitem(app.config, "RAZORPAY_WEBHOOK_SECRET", "hooksecret")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


GATEWAY_ERROR = {"code": "payment_gateway_error",
                 "message": "The payment gateway did not answer; nothing was charged twice, "
                            "please retry",
                 "details": {}}


def test_opening_an_open_order_again_asks_the_gateway_once(client, razorpay, parent):
    razorpay.post(f"{RAZORPAY}/orders", json={"id": "order_EKwxwAgItmmXdp", "amount": PRICE,
                                              "currency": "INR", "status": "created"})
    booking = make_booking(parent)
    first = open_payment(client, parent, booking)
    assert open_payment(client, parent, booking) == first
    assert len(razorpay.calls) == 1


@pytest.mark.parametrize("gateway_status, answer", [(503, 502), (400, 422)])
def test_a_gateway_outage_or_refusal_on_create_is_told_to_the_parent(client, razorpay, parent,
                                                                      gateway_status, answer):
    """Down (5xx): 502, worth retrying. Refused (4xx): 422, a retry would not help."""
    razorpay.post(f"{RAZORPAY}/orders", status=gateway_status,
                  json={"error": {"description": "no"}})
    booking = make_booking(parent)
    resp = client.post("/api/payments/create", json={"booking_id": booking.id},
                       headers=auth_headers(parent))
    assert resp.status_code == answer
    assert _error(resp) == GATEWAY_ERROR
    assert db.session.scalar(select(Payment.id).where(Payment.booking_id == booking.id)) is None


@pytest.mark.parametrize("gateway_status, answer", [(503, 502), (400, 422)])
def test_a_gateway_outage_or_refusal_on_confirm_is_told_and_changes_nothing(
        client, razorpay, parent, gateway_status, answer):
    order_id, pay_id = "order_EKwxwAgItmmXdp", "pay_29QQoUBi66xm2f"
    razorpay.post(f"{RAZORPAY}/orders", json={"id": order_id, "amount": PRICE,
                                              "currency": "INR", "status": "created"})
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    razorpay.get(f"{RAZORPAY}/payments/{pay_id}", status=gateway_status,
                 json={"error": {"description": "no"}})
    resp = confirm(client, parent, order["payment_id"], pay_id,
                   order_signature(order_id, pay_id, KEY_SECRET))
    assert resp.status_code == answer
    assert _error(resp) == GATEWAY_ERROR
    assert reload(Payment, order["payment_id"]).status == "created"
    assert len(transitions(order["payment_id"])) == 1
    assert reload(Booking, booking.id).status == "pending_payment"


def test_confirming_twice_does_not_ask_the_gateway_again(client, razorpay, parent):
    order_id, pay_id = "order_EKwxwAgItmmXdp", "pay_29QQoUBi66xm2f"
    razorpay.post(f"{RAZORPAY}/orders", json={"id": order_id, "amount": PRICE,
                                              "currency": "INR", "status": "created"})
    razorpay.get(f"{RAZORPAY}/payments/{pay_id}", json={
        "id": pay_id, "entity": "payment", "amount": PRICE, "currency": "INR",
        "status": "captured", "order_id": order_id, "method": "upi"})
    order = open_payment(client, parent, make_booking(parent))
    signature = order_signature(order_id, pay_id, KEY_SECRET)
    assert confirm(client, parent, order["payment_id"], pay_id, signature).status_code == 200
    asked = len(razorpay.calls)
    again = confirm(client, parent, order["payment_id"], pay_id, signature)
    assert (again.status_code, again.get_json()["status"]) == (200, "captured")
    assert len(razorpay.calls) == asked


# -- capture: what support reads ------------------------------------------------------------------
def test_a_wrong_amount_or_currency_is_flagged_with_both_sides(client, app, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    pay_id = paid["payment"]["id"]
    short = {**paid["payment"], "amount": 70000}
    no_currency = {k: v for k, v in paid["payment"].items() if k != "currency"}
    for entity in (short, no_currency):
        resp = post_webhook(client, *webhook_for(app, "payment.captured", entity))
        assert resp.get_json()["result"] == "amount_mismatch"
    assert _flags(order["payment_id"]) == [
        ("amount_mismatch", f"amount_mismatch: gateway 70000 INR ({pay_id}), order {PRICE} INR"),
        ("amount_mismatch", f"amount_mismatch: gateway {PRICE} ? ({pay_id}), order {PRICE} INR"),
    ]
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.failure_reason) == ("created", "amount_mismatch")
    assert reload(Booking, booking.id).status == "pending_payment"


def test_a_capture_in_lower_case_currency_and_a_long_method_name_is_taken(client, app, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    paid = sandbox(app).simulate_payment(order["provider_order_id"], currency="inr",
                                         method="m" * 40)
    resp = post_webhook(client, *webhook_for(app, "payment.captured", paid["payment"]))
    assert resp.get_json()["result"] == "captured"
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.method) == ("captured", "m" * 30)
    assert reload(Booking, booking.id).status == "confirmed"


def test_a_capture_without_a_method_stores_none(client, app, parent):
    order = open_payment(client, parent, make_booking(parent))
    paid = sandbox(app).simulate_payment(order["provider_order_id"], method="")
    resp = post_webhook(client, *webhook_for(app, "payment.captured", paid["payment"]))
    assert resp.get_json()["result"] == "captured"
    assert reload(Payment, order["payment_id"]).method is None


def test_a_capture_after_a_reported_failure_clears_the_failure(client, app, parent):
    """A declined attempt is reported, then a retry on the same order is paid: the payment is
    captured with no failure reason left over, and the booking confirmed."""
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    failed = sandbox(app).simulate_payment(order["provider_order_id"], outcome="failed")
    post_webhook(client, *webhook_for(app, "payment.failed", failed["payment"]), route="failure")
    assert reload(Payment, order["payment_id"]).failure_reason
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    resp = post_webhook(client, *webhook_for(app, "payment.captured", paid["payment"]))
    assert resp.get_json()["result"] == "captured"
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.failure_reason) == ("captured", None)
    assert payment.provider_payment_id == paid["payment"]["id"]
    assert reload(Booking, booking.id).status == "confirmed"


def test_a_payment_for_a_booking_paid_already_goes_back_as_a_duplicate(client, app, parent):
    booking = make_booking(parent)
    first, _ = paid_on_a_second_order(client, app, parent, booking)
    late = sandbox(app).simulate_payment(first["provider_order_id"])
    resp = post_webhook(client, *webhook_for(app, "payment.captured", late["payment"]))
    assert resp.get_json()["result"] == "duplicate_payment_refunded"
    (refund,) = _refunds(first["payment_id"])
    assert (refund.amount, refund.reason, refund.requested_by_id) == (
        PRICE, "duplicate payment for a paid booking", None)
    sources = {c.source for c in transitions(first["payment_id"]) if c.from_status == "captured"}
    assert sources == {"webhook"}


def test_a_late_payment_without_seats_is_refunded_and_left_for_support(client, app, parent,
                                                                       other_parent):
    slot = GameSlotFactory(capacity=1)
    booking = make_booking(parent, slot=slot)
    order = open_payment(client, parent, booking)
    expire_hold(booking.id)
    make_booking(other_parent, slot=slot)  # the freed seat is sold to someone else
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    resp = post_webhook(client, *webhook_for(app, "payment.captured", paid["payment"]))
    assert resp.get_json()["result"] == "late_payment_refunded"
    (refund,) = _refunds(order["payment_id"])
    code = refund.reason.removeprefix("payment arrived too late (").removesuffix(")")
    assert refund.reason == f"payment arrived too late ({code})" and code
    assert (refund.amount, refund.requested_by_id) == (PRICE, None)
    assert _flags(order["payment_id"]) == [
        ("late_payment", f"late_payment: paid after the seats were gone ({code}); "
                         "refunded in full")]
    assert {c.source for c in transitions(order["payment_id"])} == {"api", "webhook"}


# -- failure ------------------------------------------------------------------------------------
def test_a_failure_is_recorded_with_its_reason_or_payment_failed(client, app, parent):
    quiet = open_payment(client, parent, make_booking(parent))
    wordy = open_payment(client, parent, make_booking(parent))
    for order, description in ((quiet, None), (wordy, "d" * 600)):
        failed = sandbox(app).simulate_payment(order["provider_order_id"], outcome="failed")
        entity = {**failed["payment"], "error_description": description}
        resp = post_webhook(client, *webhook_for(app, "payment.failed", entity), route="failure")
        assert resp.get_json()["result"] == "failed"
    for order, reason in ((quiet, "payment failed"), (wordy, "d" * 500)):
        payment = reload(Payment, order["payment_id"])
        assert (payment.status, payment.failure_reason) == ("failed", reason)
        assert [(c.from_status, c.to_status, c.source, c.note)
                for c in transitions(order["payment_id"])][1:] == [
            ("created", "failed", "webhook", reason)]


def test_a_failure_reported_twice_is_ignored_the_second_time(client, app, parent):
    order = open_payment(client, parent, make_booking(parent))
    failed = sandbox(app).simulate_payment(order["provider_order_id"], outcome="failed")
    post_webhook(client, *webhook_for(app, "payment.failed", failed["payment"]), route="failure")
    body, headers = webhook_for(app, "payment.failed", failed["payment"])  # a new event id
    resp = post_webhook(client, body, headers, route="failure")
    assert resp.get_json()["result"] == "ignored_failed"
    assert len(transitions(order["payment_id"], "failed")) == 1


# -- the status poll ----------------------------------------------------------------------------
def test_the_poll_leaves_closed_and_unknown_payments_alone(client, app, parent):
    order = open_payment(client, parent, make_booking(parent))
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    confirm(client, parent, order["payment_id"], paid["payment"]["id"], paid["signature"])
    assert reconcile_payment(order["payment_id"]) == "not_open"
    assert reconcile_payment(999_999_999) == "not_open"
    assert reload(Payment, order["payment_id"]).last_checked_at is None


def test_an_abandoned_order_is_closed_saying_why(client, app, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    expire_hold(booking.id)
    assert reconcile_payment(order["payment_id"], source="redirect") == "failed"
    payment = reload(Payment, order["payment_id"])
    reason = "abandoned: booking expired, nothing paid"
    assert (payment.status, payment.failure_reason) == ("failed", reason)
    assert payment.last_checked_at is not None
    assert [(c.from_status, c.to_status, c.source, c.note)
            for c in transitions(order["payment_id"])][1:] == [
        ("created", "failed", "redirect", reason)]


def test_a_poll_that_finds_the_payment_records_its_source(client, app, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    sandbox(app).simulate_payment(order["provider_order_id"])
    assert reconcile_payment(order["payment_id"], source="redirect") == "captured"
    assert [c.source for c in transitions(order["payment_id"], "captured")] == ["redirect"]
    assert reload(Booking, booking.id).status == "confirmed"


def test_a_gateway_refusing_to_open_an_order_is_logged_with_the_booking(
        client, app, parent, caplog, monkeypatch):
    """The parent is told to try again (nothing written); ops get a warning naming the
    booking, to match against the gateway's own records."""
    import logging

    from nibog.payments.gateways.base import GatewayError
    from nibog.payments.gateways.sandbox import SandboxGateway

    logger = logging.getLogger("nibog.payments.service")
    # Alembic's fileConfig (the test session's migration run) disables existing loggers.
    monkeypatch.setattr(logger, "disabled", False)

    def refuse(self, **kwargs):
        raise GatewayError("sandbox: down", transient=True)

    monkeypatch.setattr(SandboxGateway, "create_order", refuse)
    booking = make_booking(parent)
    with caplog.at_level(logging.WARNING, logger=logger.name):
        resp = create_payment(client, parent, booking)
    assert resp.status_code == 502 and resp.get_json()["error"]["code"] == "payment_gateway_error"
    assert db.session.scalars(select(Payment.id).where(Payment.booking_id == booking.id)).all() == []
    [warning] = [r for r in caplog.records if r.name == logger.name]
    assert (warning.levelname, warning.getMessage(), warning.booking_id) == (
        "WARNING", "gateway create_order failed", booking.id)

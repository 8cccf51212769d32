"""POST /create and /confirm with the sandbox gateway (the default)."""

from __future__ import annotations

import pytest

from nibog.booking.models import Booking
from nibog.payments.gateways.razorpay import order_signature
from nibog.payments.models import Payment, PaymentStatusChange
from tests.helpers import auth_headers, error_code
from tests.payments.support import (
    PRICE,
    confirm,
    create_payment,
    make_booking,
    messages,
    open_payment,
    payments_of,
    reload,
    sandbox,
    transitions,
)


def test_create_opens_an_order_for_the_booking_total(client, parent):
    booking = make_booking(parent, total=123400)
    resp = create_payment(client, parent, booking, amount=1)  # a client amount is not accepted
    assert resp.status_code == 422

    body = open_payment(client, parent, booking)
    assert body["amount"] == 123400
    assert body["currency"] == "INR"
    assert body["provider"] == "sandbox"
    assert body["provider_order_id"].startswith("order_")
    assert body["checkout"]["order_id"] == body["provider_order_id"]
    assert body["checkout"]["key_id"]
    assert "/payments/sandbox/checkout/" in body["checkout"]["checkout_url"]
    history = transitions(body["payment_id"])
    assert [(c.from_status, c.to_status) for c in history] == [(None, "created")]


def test_create_is_idempotent_while_the_order_is_open(client, parent):
    booking = make_booking(parent)
    first = open_payment(client, parent, booking)
    second = open_payment(client, parent, booking)
    assert second == first
    assert len(payments_of(booking.id)) == 1


@pytest.mark.commits  # Idempotency-Key: claimed in a transaction of its own
def test_idempotency_key_replays_and_refuses_a_different_body(client, parent):
    booking = make_booking(parent)
    other = make_booking(parent)
    headers = {**auth_headers(parent), "Idempotency-Key": "pay-1"}
    first = client.post("/api/payments/create", json={"booking_id": booking.id}, headers=headers)
    again = client.post("/api/payments/create", json={"booking_id": booking.id}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    reused = client.post("/api/payments/create", json={"booking_id": other.id}, headers=headers)
    assert reused.status_code == 409
    assert error_code(reused) == "idempotency_key_reused"


def test_create_refuses_what_cannot_be_paid(client, parent, other_parent):
    theirs = make_booking(other_parent)
    assert create_payment(client, parent, theirs).status_code == 404
    assert create_payment(client, parent, Booking(id=999999)).status_code == 404

    paid = make_booking(parent, status="confirmed")
    resp = create_payment(client, parent, paid)
    assert resp.status_code == 409
    assert error_code(resp) == "booking_not_payable"

    lapsed = make_booking(parent, hold_seconds=-5)
    resp = create_payment(client, parent, lapsed)
    assert resp.status_code == 409
    assert error_code(resp) == "hold_expired"

    assert create_payment(client, None, make_booking(parent)).status_code == 404


def test_guest_booking_is_paid_with_its_access_code(client):
    from nibog.booking.access import hash_access_code
    from nibog.extensions import db

    booking = make_booking(None, guest_email="guest@example.com")
    booking = db.session.get(Booking, booking.id)
    booking.access_code_hash = hash_access_code("K7M2Q9")
    db.session.commit()

    assert create_payment(client, None, booking).status_code == 404
    assert create_payment(client, None, booking, access_code="WRONG1").status_code == 404
    body = create_payment(client, None, booking, access_code="k7m2q9").get_json()
    paid = sandbox(client.application).simulate_payment(body["provider_order_id"])
    resp = confirm(client, None, body["payment_id"], paid["payment"]["id"], paid["signature"])
    assert resp.status_code == 200, resp.get_json()
    assert reload(Booking, booking.id).status == "confirmed"


def test_confirm_captures_and_confirms_the_booking_once(client, parent, app):
    booking = make_booking(parent)
    body = open_payment(client, parent, booking)
    paid = sandbox(app).simulate_payment(body["provider_order_id"], method="card")

    resp = confirm(client, parent, body["payment_id"], paid["payment"]["id"], paid["signature"])
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert out["status"] == "captured"
    assert out["provider_payment_id"] == paid["payment"]["id"]
    assert out["method"] == "card"
    assert out["booking_status"] == "confirmed"

    again = confirm(client, parent, body["payment_id"], paid["payment"]["id"], paid["signature"])
    assert again.status_code == 200
    assert again.get_json()["status"] == "captured"
    assert len(transitions(body["payment_id"], "captured")) == 1
    assert messages("booking_confirmed", booking.id) == 1
    assert reload(Booking, booking.id).status == "confirmed"


@pytest.mark.parametrize("meanwhile", ["cancelled", "confirmed"])
def test_a_payment_the_booking_no_longer_takes_answers_with_its_refund(
        client, parent, app, meanwhile):
    from nibog.core import boundary

    booking = make_booking(parent)
    body = open_payment(client, parent, booking)
    paid = sandbox(app).simulate_payment(body["provider_order_id"])
    # While the parent pays: they cancel it, or it is paid at the desk.
    reload(Booking, booking.id).status = meanwhile
    boundary.commit()

    resp = confirm(client, parent, body["payment_id"], paid["payment"]["id"], paid["signature"])
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    # The money goes back, and the answer says so (not a bare capture).
    assert out["booking_status"] == meanwhile
    assert [(r["amount"], r["status"]) for r in out["refunds"]] == [(PRICE, "pending")]
    assert out["amount_refunded"] == PRICE


def test_a_bad_signature_is_refused_and_changes_nothing(client, parent, app):
    booking = make_booking(parent)
    body = open_payment(client, parent, booking)
    paid = sandbox(app).simulate_payment(body["provider_order_id"])
    forged = order_signature(body["provider_order_id"], paid["payment"]["id"], "not-the-secret")

    last = paid["signature"][-1]
    one_off = paid["signature"][:-1] + ("1" if last == "0" else "0")
    for signature in (forged, one_off, ""):
        resp = confirm(client, parent, body["payment_id"], paid["payment"]["id"], signature)
        assert resp.status_code == 422
    resp = confirm(client, parent, body["payment_id"], paid["payment"]["id"], forged)
    assert error_code(resp) == "invalid_signature"
    # A signature for another order's payment does not pay this one.
    other = open_payment(client, parent, make_booking(parent))
    other_paid = sandbox(app).simulate_payment(other["provider_order_id"])
    resp = confirm(
        client, parent, body["payment_id"], other_paid["payment"]["id"], other_paid["signature"]
    )
    assert error_code(resp) == "invalid_signature"

    assert reload(Payment, body["payment_id"]).status == "created"
    assert reload(Booking, booking.id).status == "pending_payment"
    assert len(transitions(body["payment_id"])) == 1


def test_confirm_of_someone_elses_payment_is_not_found(client, parent, other_parent, app):
    body = open_payment(client, parent, make_booking(parent))
    paid = sandbox(app).simulate_payment(body["provider_order_id"])
    resp = confirm(
        client, other_parent, body["payment_id"], paid["payment"]["id"], paid["signature"]
    )
    assert resp.status_code == 404
    assert reload(Payment, body["payment_id"]).status == "created"


def test_a_failed_attempt_lets_the_parent_open_a_new_order(client, parent, app):
    booking = make_booking(parent)
    body = open_payment(client, parent, booking)
    failed = sandbox(app).simulate_payment(body["provider_order_id"], outcome="failed")
    resp = confirm(client, parent, body["payment_id"], failed["payment"]["id"], failed["signature"])
    assert resp.get_json()["status"] == "failed"
    assert reload(Booking, booking.id).status == "pending_payment"

    retry = open_payment(client, parent, booking)
    assert retry["payment_id"] != body["payment_id"]
    assert (
        PaymentStatusChange.query.filter_by(
            payment_id=body["payment_id"], to_status="failed"
        ).count()
        == 1
    )


def test_methods_history_and_reading_a_payment(client, parent, other_parent, app):
    methods = client.get("/api/payments/methods").get_json()
    assert methods["provider"] == "sandbox"
    assert {m["code"] for m in methods["methods"]} >= {"upi", "card"}

    mine = [open_payment(client, parent, make_booking(parent)) for _ in range(3)]
    theirs = open_payment(client, other_parent, make_booking(other_parent))

    page = client.get("/api/payments/history?per_page=2", headers=auth_headers(parent)).get_json()
    assert page["total"] == 3 and page["pages"] == 2 and len(page["items"]) == 2
    page2 = client.get(
        "/api/payments/history?page=2&per_page=2", headers=auth_headers(parent)
    ).get_json()
    seen = {p["id"] for p in page["items"] + page2["items"]}
    assert seen == {p["payment_id"] for p in mine}
    assert all(p["amount"] == PRICE for p in page["items"])

    assert (
        client.get(
            f"/api/payments/{mine[0]['payment_id']}", headers=auth_headers(parent)
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/payments/{theirs['payment_id']}", headers=auth_headers(parent)
        ).status_code
        == 404
    )
    assert client.get("/api/payments/history").status_code == 401


def test_every_payment_endpoint_is_documented(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in (
        "/api/payments/create",
        "/api/payments/confirm",
        "/api/payments/methods",
        "/api/payments/history",
        "/api/payments/{payment_id}",
        "/api/payments/refund",
        "/webhooks/payment/success",
        "/webhooks/payment/failure",
        "/webhooks/payment/refund",
        "/webhooks/payment/phonepe",
    ):
        assert path in paths, path


def test_the_sandbox_never_takes_payments_in_production(client, app, parent, monkeypatch):
    booking = make_booking(parent)
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    resp = create_payment(client, parent, booking)
    assert resp.status_code == 503
    assert error_code(resp) == "payments_unavailable"
    assert payments_of(booking.id) == []


def test_a_staging_copy_with_the_sandbox_switch_takes_sandbox_payments(client, app, parent,
                                                                      monkeypatch):
    booking = make_booking(parent)
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    monkeypatch.setitem(app.config, "PAYMENT_SANDBOX_ALLOWED", True)
    resp = create_payment(client, parent, booking)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["provider"] == "sandbox"

"""The sandbox checkout page: a person clicks "pay" or "fail"; the real code paths run."""

from __future__ import annotations

from sqlalchemy import select

from nibog.booking.models import Booking
from nibog.extensions import db
from nibog.payments.models import Payment, WebhookEvent
from tests.payments.support import make_booking, messages, open_payment, reload, transitions


def test_pay_button_confirms_through_confirm_and_webhook(client, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    url = f"/payments/sandbox/checkout/{order['provider_order_id']}"

    page = client.get(url)
    assert page.status_code == 200
    assert "₹799".encode() in page.data
    assert b'value="pay"' in page.data and b'value="fail"' in page.data

    done = client.post(url, data={"action": "pay", "method": "card"})
    assert done.status_code == 200
    assert b'data-status="captured"' in done.data
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.method) == ("captured", "card")
    assert reload(Booking, booking.id).status == "confirmed"
    assert [c.source for c in transitions(payment.id, "captured")] == ["sandbox"]
    (event,) = db.session.scalars(select(WebhookEvent)).all()
    assert event.result == "already_captured"
    assert messages("booking_confirmed", booking.id) == 1


def test_fail_button_fails_the_payment(client, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    url = f"/payments/sandbox/checkout/{order['provider_order_id']}"
    done = client.post(url, data={"action": "fail"})
    assert b'data-status="failed"' in done.data
    assert reload(Payment, order["payment_id"]).status == "failed"
    assert reload(Booking, booking.id).status == "pending_payment"
    assert client.post(url, data={"action": "steal"}).status_code == 400


def test_page_exists_only_for_the_sandbox(client, app, parent, monkeypatch):
    order = open_payment(client, parent, make_booking(parent))
    assert client.get("/payments/sandbox/checkout/order_doesnotexist00").status_code == 404
    monkeypatch.setitem(app.config, "PAYMENT_PROVIDER", "razorpay")
    url = f"/payments/sandbox/checkout/{order['provider_order_id']}"
    assert client.get(url).status_code == 404
    assert client.post(url, data={"action": "pay"}).status_code == 404
    assert reload(Payment, order["payment_id"]).status == "created"

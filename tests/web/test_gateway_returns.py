"""The site's way to the real gateways and back (the sandbox has its own tests): Razorpay's hosted
checkout, posted to by a plain form, and PhonePe's pay page (v1 and v2). The gateways' HTTP APIs answer from
recorded responses (``responses``), never the network."""

from __future__ import annotations

import base64
import hashlib
import html as htmllib
import json
import re

import pytest
import responses
from sqlalchemy import select

from nibog.booking.access import hash_access_code
from nibog.booking.models import Booking
from nibog.core import boundary
from nibog.extensions import db
from nibog.payments.gateways.razorpay import order_signature
from nibog.payments.models import Payment
from tests.helpers import html, reload, sign_in
from tests.payments.support import PRICE, make_booking, messages
from tests.payments.test_phonepe import HOST, INDEX, MID, REDIRECT, SALT, outcome
from tests.payments.test_phonepe_v2 import CLIENT_ID as V2_CLIENT_ID
from tests.payments.test_phonepe_v2 import CLIENT_SECRET as V2_CLIENT_SECRET
from tests.payments.test_phonepe_v2 import REDIRECT as V2_REDIRECT
from tests.payments.test_phonepe_v2 import order_status, token_body
from tests.payments.test_razorpay import (
    API,
    KEY_ID,
    KEY_SECRET,
    ORDER,
    PAY,
    order_body,
    payment_body,
)

BASE = "https://nibog.example"


@pytest.fixture
def parent_booking(db):
    from tests.factories import UserFactory

    parent = UserFactory(full_name="Asha Rao", email="asha@example.com", phone="+919812345678")
    booking = make_booking(parent)
    boundary.commit()
    return parent, booking


def _payment(booking_id: int) -> Payment:
    db.session.expire_all()
    return db.session.scalars(select(Payment).where(Payment.booking_id == booking_id)).one()


def _follow(client, resp) -> str:
    assert resp.status_code in (302, 303), resp.status_code
    return html(client.get(resp.headers["Location"]))


# --- Razorpay -----------------------------------------------------------------------------------


@pytest.fixture
def razorpay(app, monkeypatch):
    for key, value in (("PAYMENT_PROVIDER", "razorpay"), ("RAZORPAY_KEY_ID", KEY_ID),
                       ("RAZORPAY_KEY_SECRET", KEY_SECRET), ("RAZORPAY_WEBHOOK_SECRET", "hook"),
                       ("PUBLIC_BASE_URL", BASE)):
        monkeypatch.setitem(app.config, key, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(f"{API}/orders", json=order_body())
        yield rsps


def _hosted_checkout_form(client, booking) -> dict[str, str]:
    page = client.post(f"/book/{booking.id}/pay")
    assert page.status_code == 200
    text = html(page)
    assert 'action="https://api.razorpay.com/v1/checkout/embedded"' in text
    fields = {name: htmllib.unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', text)}
    return fields


def test_razorpay_form_posts_the_order_to_the_hosted_checkout(client, razorpay, parent_booking):
    parent, booking = parent_booking
    sign_in(client, parent)
    fields = _hosted_checkout_form(client, booking)
    assert fields["key_id"] == KEY_ID and fields["order_id"] == ORDER
    assert fields["prefill[email]"] == "asha@example.com"
    assert fields["callback_url"].endswith(f"/book/{booking.id}/razorpay-return")
    assert fields["cancel_url"].endswith(f"/book/{booking.id}/pay")
    assert "key_secret" not in str(fields) and KEY_SECRET not in str(fields)
    # Razorpay was asked for an order of the booking's total; nothing is paid yet.
    assert _payment(booking.id).status == "created"
    assert reload(Booking, booking.id).status == "pending_payment"


def test_razorpay_return_with_a_good_signature_confirms_and_shows_the_booking(
        client, app, razorpay, parent_booking):
    parent, booking = parent_booking
    sign_in(client, parent)
    _hosted_checkout_form(client, booking)
    lookup = razorpay.get(f"{API}/payments/{PAY}", json=payment_body())
    # Razorpay's page posts back from its own site: no CSRF token, and (SameSite=Lax) no session
    # cookie either; the signature is what proves it.
    gateway = app.test_client()
    resp = gateway.post(f"/book/{booking.id}/razorpay-return", data={
        "razorpay_order_id": ORDER, "razorpay_payment_id": PAY,
        "razorpay_signature": order_signature(ORDER, PAY, KEY_SECRET)})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/book/{booking.id}/done")
    assert lookup.call_count == 1  # the capture is checked with Razorpay, not taken on trust
    assert reload(Booking, booking.id).status == "confirmed"
    assert _payment(booking.id).status == "captured"
    assert messages("booking_confirmed", booking.id) == 1
    # The parent's own browser then lands on the confirmation with the ticket.
    done = html(client.get(resp.headers["Location"]))
    assert 'data-state="confirmed"' in done and "Download ticket (PDF)" in done


def test_razorpay_return_with_a_bad_signature_captures_nothing(client, razorpay, parent_booking):
    parent, booking = parent_booking
    sign_in(client, parent)
    _hosted_checkout_form(client, booking)
    lookup = razorpay.get(f"{API}/payments/{PAY}", json=payment_body())
    resp = client.post(f"/book/{booking.id}/razorpay-return", data={
        "razorpay_order_id": ORDER, "razorpay_payment_id": PAY,
        "razorpay_signature": order_signature(ORDER, PAY, "not-the-secret")})
    assert resp.headers["Location"].endswith(f"/book/{booking.id}/pay")
    page = _follow(client, resp)
    assert "We could not verify this payment" in page and 'role="alert"' in page
    assert lookup.call_count == 0
    assert reload(Booking, booking.id).status == "pending_payment"
    assert _payment(booking.id).status == "created"
    assert messages("booking_confirmed", booking.id) == 0
    # The hold is still there to pay again.
    assert "Continue to payment" in html(client.post(f"/book/{booking.id}/pay"))


def test_razorpay_return_without_a_payment_says_it_did_not_go_through(client, razorpay,
                                                                      parent_booking):
    parent, booking = parent_booking
    sign_in(client, parent)
    _hosted_checkout_form(client, booking)
    resp = client.post(f"/book/{booking.id}/razorpay-return", data={
        "razorpay_order_id": ORDER, "error[code]": "BAD_REQUEST_ERROR"})
    assert "The payment did not go through. You can try again." in _follow(client, resp)
    assert reload(Booking, booking.id).status == "pending_payment"


def test_razorpay_return_for_another_order_is_404(client, razorpay, parent_booking):
    parent, booking = parent_booking
    sign_in(client, parent)
    _hosted_checkout_form(client, booking)
    resp = client.post(f"/book/{booking.id}/razorpay-return", data={
        "razorpay_order_id": "order_someone_else", "razorpay_payment_id": PAY,
        "razorpay_signature": order_signature("order_someone_else", PAY, KEY_SECRET)})
    assert resp.status_code == 404
    assert reload(Booking, booking.id).status == "pending_payment"


# --- PhonePe (v1) -------------------------------------------------------------------------------


@pytest.fixture
def phonepe(app, monkeypatch):
    for key, value in (("PAYMENT_PROVIDER", "phonepe"), ("PHONEPE_MERCHANT_ID", MID),
                       ("PHONEPE_SALT_KEY", SALT), ("PHONEPE_SALT_INDEX", INDEX),
                       ("PHONEPE_ENV", "uat"), ("PHONEPE_API", "v1"), ("PUBLIC_BASE_URL", BASE)):
        monkeypatch.setitem(app.config, key, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(f"{HOST}/pg/v1/pay", json={
            "success": True, "code": "PAYMENT_INITIATED", "message": "Payment initiated",
            "data": {"merchantId": MID, "merchantTransactionId": "ignored",
                     "instrumentResponse": {"type": "PAY_PAGE",
                                            "redirectInfo": {"url": REDIRECT, "method": "GET"}}}})
        yield rsps


def _status_answer(phonepe, mtid: str, body: dict):
    path = f"/pg/v1/status/{MID}/{mtid}"
    verify = hashlib.sha256((path + SALT).encode()).hexdigest() + f"###{INDEX}"
    return phonepe.get(f"{HOST}{path}", json=body, match=[
        responses.matchers.header_matcher({"X-VERIFY": verify, "X-MERCHANT-ID": MID})])


def _to_phonepe(client, booking) -> str:
    resp = client.post(f"/book/{booking.id}/pay")
    assert resp.status_code == 303 and resp.headers["Location"] == REDIRECT
    return _payment(booking.id).provider_order_id


def test_phonepe_pay_goes_to_phonepe_and_the_return_confirms(client, phonepe, parent_booking):
    parent, booking = parent_booking
    sign_in(client, parent)
    mtid = _to_phonepe(client, booking)
    sent = phonepe.calls[0].request
    sent_request = json.loads(base64.b64decode(json.loads(sent.body)["request"]))
    assert sent_request["redirectUrl"] == f"{BASE}/payments/phonepe/return/{mtid}"
    assert sent_request["amount"] == PRICE
    assert reload(Booking, booking.id).status == "pending_payment"

    status = _status_answer(phonepe, mtid, outcome(mtid))
    page = client.post(f"/payments/phonepe/return/{mtid}", data={"code": "PAYMENT_SUCCESS"})
    assert page.status_code == 200 and b'data-status="captured"' in page.data
    assert status.call_count == 1  # settled by PhonePe's status API, not the posted code
    assert reload(Booking, booking.id).status == "confirmed"
    assert _payment(booking.id).status == "captured"
    # "View your booking" leads a signed-in parent to the booking, paid.
    link = re.search(r'href="([^"]+)">View your booking', page.get_data(as_text=True)).group(1)
    assert link == f"/account/bookings/{booking.id}"
    assert "Download the ticket (PDF)" in html(client.get(link))


def test_phonepe_return_of_a_failed_payment_leaves_the_hold_to_pay_again(client, phonepe,
                                                                         parent_booking):
    parent, booking = parent_booking
    sign_in(client, parent)
    mtid = _to_phonepe(client, booking)
    _status_answer(phonepe, mtid, outcome(mtid, code="PAYMENT_ERROR", state="FAILED"))
    page = client.post(f"/payments/phonepe/return/{mtid}", data={"code": "PAYMENT_ERROR"})
    assert b'data-status="failed"' in page.data and b"Payment failed" in page.data
    assert reload(Booking, booking.id).status == "pending_payment"
    assert _payment(booking.id).status == "failed"
    assert messages("booking_confirmed", booking.id) == 0
    # Paying again opens a new PhonePe payment for the same booking.
    client.post(f"/book/{booking.id}/pay")
    db.session.expire_all()
    assert len(db.session.scalars(select(Payment).where(Payment.booking_id == booking.id)).all()) == 2


def test_phonepe_return_while_the_bank_is_still_deciding_says_so(client, phonepe, parent_booking):
    parent, booking = parent_booking
    sign_in(client, parent)
    mtid = _to_phonepe(client, booking)
    _status_answer(phonepe, mtid, outcome(mtid, code="PAYMENT_PENDING", state="PENDING"))
    page = client.get(f"/payments/phonepe/return/{mtid}")
    assert b'data-status="created"' in page.data and b"waiting for the bank" in page.data
    assert reload(Booking, booking.id).status == "pending_payment"


def test_guest_back_from_phonepe_is_led_to_the_booking_in_this_browser(client, phonepe, db):
    booking = make_booking(None, guest_email="meera@example.com")
    booking.access_code_hash = hash_access_code("GUESTCODE1")
    boundary.commit()
    # The payment link (or the booking itself) left the access code in this browser.
    assert client.get(f"/book/{booking.id}/pay?code=GUESTCODE1").status_code == 302
    mtid = _to_phonepe(client, booking)
    _status_answer(phonepe, mtid, outcome(mtid))
    page = client.post(f"/payments/phonepe/return/{mtid}")
    assert reload(Booking, booking.id).status == "confirmed"
    link = re.search(r'href="([^"]+)">View your booking', page.get_data(as_text=True)).group(1)
    done = html(client.get(link))
    assert 'data-state="confirmed"' in done and "Download ticket (PDF)" in done


# --- PhonePe (v2, Standard Checkout) ------------------------------------------------------------


@pytest.fixture
def phonepe_v2(app, monkeypatch):
    for key, value in (("PAYMENT_PROVIDER", "phonepe"), ("PHONEPE_API", "v2"),
                       ("PHONEPE_ENV", "uat"), ("PHONEPE_CLIENT_ID", V2_CLIENT_ID),
                       ("PHONEPE_CLIENT_SECRET", V2_CLIENT_SECRET),
                       ("PHONEPE_CLIENT_VERSION", "1"), ("PUBLIC_BASE_URL", BASE)):
        monkeypatch.setitem(app.config, key, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(f"{HOST}/v1/oauth/token", json=token_body())
        rsps.pay = rsps.post(f"{HOST}/checkout/v2/pay", json={
            "orderId": "OMO2403282020198641071317", "state": "PENDING",
            "expireAt": 1703756259307, "redirectUrl": V2_REDIRECT})
        yield rsps


@pytest.mark.parametrize("state, booking_status", [("COMPLETED", "confirmed"),
                                                   ("FAILED", "pending_payment")])
def test_phonepe_v2_pay_and_return(client, phonepe_v2, parent_booking, state, booking_status):
    parent, booking = parent_booking
    sign_in(client, parent)
    resp = client.post(f"/book/{booking.id}/pay")
    assert resp.status_code == 303 and resp.headers["Location"] == V2_REDIRECT
    mtid = _payment(booking.id).provider_order_id
    sent = json.loads(phonepe_v2.pay.calls[0].request.body)
    assert sent["amount"] == PRICE
    assert sent["paymentFlow"]["merchantUrls"]["redirectUrl"] == (
        f"{BASE}/payments/phonepe/return/{mtid}")

    status = phonepe_v2.get(f"{HOST}/checkout/v2/order/{mtid}/status",
                            json=order_status(mtid, state=state))
    page = client.get(f"/payments/phonepe/return/{mtid}")
    assert page.status_code == 200 and status.call_count == 1
    assert reload(Booking, booking.id).status == booking_status
    assert _payment(booking.id).status == ("captured" if state == "COMPLETED" else "failed")
    assert messages("booking_confirmed", booking.id) == (1 if state == "COMPLETED" else 0)


def test_the_phonepe_return_page_speaks_the_parents_language(client, phonepe, parent_booking):
    parent, booking = parent_booking
    sign_in(client, parent)
    mtid = _to_phonepe(client, booking)
    _status_answer(phonepe, mtid, outcome(mtid, code="PAYMENT_PENDING", state="PENDING"))
    client.set_cookie("lang", "hi")
    page = html(client.get(f"/payments/phonepe/return/{mtid}"))
    assert '<html lang="hi"' in page
    assert "भुगतान प्रक्रिया में है" in page and "बुकिंग देखें" in page
    assert "waiting for the bank" not in page

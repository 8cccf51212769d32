"""A parent's bookings on the site: the list, one booking, the ticket and certificates, cancelling
with the refund shown before confirming, reviewing after the event. Another parent's booking is
404 on every page."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest

from nibog.booking.models import Booking
from nibog.catalog.models import Review
from nibog.core import boundary
from nibog.core.timeutil import today_ist, utcnow
from nibog.extensions import db
from nibog.payments.models import Refund
from tests.documents.helpers import make_booking
from tests.factories import EventFactory
from tests.helpers import auth_headers
from tests.payments.support import sandbox
from tests.web.support import csrf_on, csrf_token, hindi, html, make_user, sign_in


def _pay(client, app, user, booking) -> None:
    """Pay a held booking through the sandbox gateway, as the payment page does."""
    headers = auth_headers(user)
    order = client.post("/api/payments/create", json={"booking_id": booking.id}, headers=headers)
    assert order.status_code == 201, order.get_json()
    order = order.get_json()
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    resp = client.post("/api/payments/confirm", headers=headers, json={
        "payment_id": order["payment_id"], "provider_payment_id": paid["payment"]["id"],
        "signature": paid["signature"]})
    assert resp.status_code == 200, resp.get_json()


def _paid_booking(client, app, user, *, days_ahead=30, **kwargs):
    event = EventFactory(event_date=today_ist() + timedelta(days=days_ahead),
                         start_time=time(9, 0))
    booking, info = make_booking(user=user, event=event, status="pending_payment", **kwargs)
    _pay(client, app, user, booking)
    return booking, info


def _booking(booking_id: int) -> Booking:
    db.session.expire_all()
    return db.session.get(Booking, booking_id)


def test_list_shows_the_parents_own_bookings_only(client):
    user = sign_in(client)
    mine, _ = make_booking(user=user, title="Pune Baby Games")
    make_booking(title="Someone Else's Games")
    page = html(client.get("/account/bookings"))
    assert "Pune Baby Games" in page and mine.booking_number in page
    assert "Someone Else" not in page


def test_list_filters_by_status_and_pages(client):
    user = sign_in(client)
    make_booking(user=user, title="Held One", status="pending_payment")
    make_booking(user=user, title="Gone One", status="cancelled")
    page = html(client.get("/account/bookings?status=cancelled"))
    assert "Gone One" in page and "Held One" not in page
    page = html(client.get("/account/bookings?status=upcoming"))
    assert "Held One" in page and "Gone One" not in page
    assert client.get("/account/bookings?status=nonsense&page=abc").status_code == 200


def test_another_parents_booking_is_not_found_on_every_page(client):
    sign_in(client)
    other, info = make_booking(status="completed",
                               event=EventFactory(event_date=today_ist() - timedelta(days=1),
                                                  status="completed"))
    child_id = info["children"][0].id
    for path in (f"/account/bookings/{other.id}", f"/account/bookings/{other.id}/ticket.pdf",
                 f"/account/bookings/{other.id}/cancel",
                 f"/account/bookings/{other.id}/certificates/{child_id}.pdf"):
        assert client.get(path).status_code == 404, path
    for path in (f"/account/bookings/{other.id}/cancel",
                 f"/account/bookings/{other.id}/review"):
        assert client.post(path, data={"expected_refund": "0", "rating": "5"}).status_code == 404
    assert _booking(other.id).status == "completed"
    assert db.session.query(Review).count() == 0


def test_a_confirmed_booking_shows_games_add_ons_payments_and_the_ticket(client, app):
    user = sign_in(client)
    booking, _ = _paid_booking(client, app, user, child_names=("Aarav", "Diya"),
                               games=("Crawling",), addon=("Meal Pack", 2, 29900))
    page = html(client.get(f"/account/bookings/{booking.id}"))
    assert "Aarav" in page and "Diya" in page and "Crawling" in page
    assert "2 × Meal Pack" in page and "₹598" in page  # add-on total
    assert "₹2,196" in page  # 2 x ₹799 + ₹598
    assert "Paid" in page  # the payment
    assert f"/account/bookings/{booking.id}/ticket.pdf" in page
    ticket = client.get(f"/account/bookings/{booking.id}/ticket.pdf")
    assert ticket.status_code == 200 and ticket.mimetype == "application/pdf"
    assert ticket.data.startswith(b"%PDF")
    assert ticket.headers["Content-Disposition"].startswith("attachment;")


def test_a_held_booking_offers_to_pay_with_its_deadline(client):
    user = sign_in(client)
    booking, _ = make_booking(user=user, status="pending_payment")
    booking.hold_expires_at = utcnow() + timedelta(minutes=10)
    boundary.commit()
    page = html(client.get(f"/account/bookings/{booking.id}"))
    assert f'href="/book/{booking.id}/pay"' in page and "data-countdown=" in page
    assert "Your seats are held until" in page
    assert client.get(f"/account/bookings/{booking.id}/ticket.pdf").status_code == 409


def test_cancel_shows_the_full_refund_before_confirming_then_refunds_it(client, app):
    user = sign_in(client)
    booking, _ = _paid_booking(client, app, user)
    detail = html(client.get(f"/account/bookings/{booking.id}"))
    assert "If you cancel now, you get ₹799 back." in detail
    page = client.get(f"/account/bookings/{booking.id}/cancel")
    assert page.status_code == 200
    assert "Refund: ₹799" in html(page)
    assert _booking(booking.id).status == "confirmed"  # nothing happens before confirming
    resp = client.post(f"/account/bookings/{booking.id}/cancel",
                       data={"expected_refund": "79900", "reason": "Child is unwell"})
    assert resp.status_code == 303
    assert _booking(booking.id).status == "cancelled"
    assert _booking(booking.id).cancel_reason == "Child is unwell"
    assert sum(r.amount for r in db.session.query(Refund)) == 79900
    page = html(client.get(resp.headers["Location"]))
    assert "A refund of ₹799 is on its way" in page


def test_cancel_inside_the_last_48_hours_shows_no_refund_first(client, app):
    user = sign_in(client)
    booking, _ = _paid_booking(client, app, user, days_ahead=1)
    page = html(client.get(f"/account/bookings/{booking.id}/cancel"))
    assert "Refund: none" in page
    resp = client.post(f"/account/bookings/{booking.id}/cancel", data={"expected_refund": "0"})
    assert resp.status_code == 303 and _booking(booking.id).status == "cancelled"
    assert db.session.query(Refund).count() == 0


def test_cancel_on_terms_the_parent_did_not_see_shows_the_new_terms_instead(client, app):
    user = sign_in(client)
    booking, _ = _paid_booking(client, app, user, days_ahead=1)
    # The page was opened while a full refund was due; the deadline passed before the click.
    resp = client.post(f"/account/bookings/{booking.id}/cancel", data={"expected_refund": "79900"})
    assert resp.status_code == 409
    page = html(resp)
    assert "has changed since you opened this page" in page and "Refund: none" in page
    assert _booking(booking.id).status == "confirmed"


def test_an_unpaid_hold_cancels_with_nothing_to_refund(client):
    user = sign_in(client)
    booking, _ = make_booking(user=user, status="pending_payment")
    assert "nothing to refund" in html(client.get(f"/account/bookings/{booking.id}/cancel"))
    client.post(f"/account/bookings/{booking.id}/cancel", data={"expected_refund": "0"})
    assert _booking(booking.id).status == "cancelled"


def test_a_cancelled_booking_cannot_be_cancelled_again(client):
    user = sign_in(client)
    booking, _ = make_booking(user=user, status="cancelled")
    assert "Cancel booking" not in html(client.get(f"/account/bookings/{booking.id}"))
    page = client.get(f"/account/bookings/{booking.id}/cancel")
    assert page.status_code == 409 and "can no longer be cancelled" in html(page)
    resp = client.post(f"/account/bookings/{booking.id}/cancel", data={"expected_refund": "0"})
    assert resp.status_code == 409
    assert _booking(booking.id).status == "cancelled"
    assert db.session.query(Refund).count() == 0


@pytest.mark.parametrize("status", ["cancelled", "expired"])
def test_a_dead_booking_promises_no_ticket(client, status):
    user = sign_in(client)
    booking, _ = make_booking(user=user, status=status)
    page = html(client.get(f"/account/bookings/{booking.id}"))
    assert "The ticket is ready once the booking is confirmed." not in page
    assert 'id="docs-h"' not in page
    held, _ = make_booking(user=user, status="pending_payment")
    assert "The ticket is ready once the booking is confirmed." in html(
        client.get(f"/account/bookings/{held.id}"))


def test_cancel_form_refuses_a_post_without_its_csrf_token(client, app):
    user = sign_in(client)
    booking, _ = make_booking(user=user, status="pending_payment")
    with csrf_on(app):
        resp = client.post(f"/account/bookings/{booking.id}/cancel",
                           data={"expected_refund": "0"})
        assert resp.status_code == 400 and _booking(booking.id).status == "pending_payment"
        token = csrf_token(html(client.get(f"/account/bookings/{booking.id}/cancel")))
        client.post(f"/account/bookings/{booking.id}/cancel",
                    data={"expected_refund": "0", "csrf_token": token})
    assert _booking(booking.id).status == "cancelled"


def _past_booking(user):
    event = EventFactory(event_date=today_ist() - timedelta(days=1), status="completed")
    return make_booking(user=user, event=event, status="completed",
                        child_names=("आरव शर्मा", "Diya"))


def test_after_the_event_certificates_download_and_a_review_is_published(client):
    user = sign_in(client)
    booking, info = _past_booking(user)
    page = html(client.get(f"/account/bookings/{booking.id}"))
    for child in info["children"]:
        assert f"/account/bookings/{booking.id}/certificates/{child.id}.pdf" in page
    cert = client.get(f"/account/bookings/{booking.id}/certificates/{info['children'][0].id}.pdf")
    assert cert.status_code == 200 and cert.data.startswith(b"%PDF")
    assert "filename*=UTF-8''certificate-" in cert.headers["Content-Disposition"]

    assert "Review the event" in page
    resp = client.post(f"/account/bookings/{booking.id}/review", data={"rating": "",
                                                                       "comment": "Lovely day"})
    assert resp.status_code == 422
    assert "Choose a rating." in html(resp) and "Lovely day" in html(resp)
    resp = client.post(f"/account/bookings/{booking.id}/review",
                       data={"rating": "5", "comment": "Lovely day"})
    assert resp.status_code == 303
    review = db.session.query(Review).one()
    assert (review.rating, review.comment) == (5, "Lovely day")
    client.post(f"/account/bookings/{booking.id}/review", data={"rating": "4", "comment": ""})
    db.session.expire_all()
    assert db.session.query(Review).one().rating == 4  # edited, not a second review
    assert "Update review" in html(client.get(f"/account/bookings/{booking.id}"))


def test_before_the_event_there_is_no_certificate_and_no_review(client, app):
    user = sign_in(client)
    booking, info = _paid_booking(client, app, user)
    page = html(client.get(f"/account/bookings/{booking.id}"))
    assert "once the event is over" in page and "Publish review" not in page
    child = info["children"][0].id
    assert client.get(
        f"/account/bookings/{booking.id}/certificates/{child}.pdf").status_code == 409
    resp = client.post(f"/account/bookings/{booking.id}/review", data={"rating": "5"})
    assert resp.status_code == 422 and db.session.query(Review).count() == 0


@pytest.mark.parametrize("status", ["pending_payment", "completed"])
def test_booking_page_in_hindi(client, status):
    user = sign_in(client)
    booking, _ = (_past_booking(user) if status == "completed"
                  else make_booking(user=user, status=status))
    hindi(client)
    page = html(client.get(f"/account/bookings/{booking.id}"))
    assert '<html lang="hi">' in page and "बुकिंग" in page
    assert not re.search(r">\s*(Games|Total|Child)\s*<", page)  # no English headings left
    boundary.rollback()


def test_children_with_indian_script_names_get_their_tickets(client, app):
    user = make_user(full_name="सुनीता शर्मा")
    sign_in(client, user)
    booking, _ = _paid_booking(client, app, user, child_names=("క్షితిజ",))
    ticket = client.get(f"/account/bookings/{booking.id}/ticket.pdf")
    assert ticket.status_code == 200 and b"NotoSansTelugu" in ticket.data

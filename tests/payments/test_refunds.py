"""Staff refunds, booking-cancellation refunds and late payments (sandbox gateway)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from nibog.booking.models import Booking
from nibog.core import boundary
from nibog.extensions import db
from nibog.payments.models import Payment, PaymentStatusChange, Refund
from tests.factories import GameSlotFactory
from tests.helpers import auth_headers, error_code
from tests.payments.support import (
    PRICE,
    confirm,
    create_payment,
    expire_hold,
    make_booking,
    messages,
    open_payment,
    paid_on_a_second_order,
    post_webhook,
    reload,
    sandbox,
    transitions,
    webhook_for,
)


def paid_booking(client, app, user, **kw):
    booking = make_booking(user, **kw)
    order = open_payment(client, user, booking)
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    resp = confirm(client, user, order["payment_id"], paid["payment"]["id"], paid["signature"])
    assert resp.get_json()["status"] == "captured"
    return booking, order["payment_id"]


def refund(client, user, payment_id, amount=None, reason="Customer asked"):
    body = {"payment_id": payment_id, "reason": reason}
    if amount is not None:
        body["amount"] = amount
    return client.post("/api/payments/refund", json=body, headers=auth_headers(user))


def test_partial_then_full_refund_never_above_captured(client, app, parent, admin):
    booking, payment_id = paid_booking(client, app, parent)

    resp = refund(client, admin, payment_id, 30000)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["amount"] == 30000
    payment = reload(Payment, payment_id)
    assert (payment.status, payment.amount_refunded) == ("partially_refunded", 30000)
    first = reload(Refund, resp.get_json()["id"])
    assert first.status == "processed"  # the job ran after the commit
    assert first.provider_refund_id.startswith("rfnd_")
    assert messages("refund_processed", booking.id) == 1

    # Paise are whole: a float is refused, not truncated.
    assert refund(client, admin, payment_id, 100.5).status_code == 422
    over = refund(client, admin, payment_id, PRICE - 30000 + 1)
    assert over.status_code == 422
    assert error_code(over) == "refund_exceeds_captured"
    assert reload(Payment, payment_id).amount_refunded == 30000

    rest = refund(client, admin, payment_id)  # no amount: whatever is left
    assert rest.status_code == 201
    assert rest.get_json()["amount"] == PRICE - 30000
    payment = reload(Payment, payment_id)
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)

    again = refund(client, admin, payment_id, 1)
    assert again.status_code == 409
    assert error_code(again) == "payment_not_refundable"
    # Money only: the booking itself is untouched by a staff refund.
    assert reload(Booking, booking.id).status == "confirmed"

    history = [(c.from_status, c.to_status) for c in transitions(payment_id)]
    assert history[-2:] == [("captured", "partially_refunded"), ("partially_refunded", "refunded")]
    refund_history = db.session.scalars(
        select(PaymentStatusChange.to_status)
        .where(PaymentStatusChange.refund_id == first.id)
        .order_by(PaymentStatusChange.id)
    ).all()
    assert refund_history == ["pending", "processed"]


def test_only_staff_and_admins_refund(client, app, parent, other_parent, staff):
    _, payment_id = paid_booking(client, app, parent)
    assert refund(client, parent, payment_id).status_code == 403
    assert refund(client, other_parent, payment_id).status_code == 403
    no_token = client.post("/api/payments/refund", json={"payment_id": payment_id, "reason": "x"})
    assert no_token.status_code == 401
    assert reload(Payment, payment_id).amount_refunded == 0

    assert refund(client, staff, payment_id, 100).status_code == 201
    assert refund(client, staff, 999999, 100).status_code == 404
    missing_reason = client.post(
        "/api/payments/refund", json={"payment_id": payment_id}, headers=auth_headers(staff)
    )
    assert missing_reason.status_code == 422


def test_an_unpaid_order_cannot_be_refunded(client, parent, admin):
    order = open_payment(client, parent, make_booking(parent))
    resp = refund(client, admin, order["payment_id"])
    assert resp.status_code == 409
    assert error_code(resp) == "payment_not_refundable"
    db.session.expire_all()
    assert db.session.scalars(select(Refund)).all() == []
    assert db.session.get(Payment, order["payment_id"]).status == "created"


def test_cancelling_a_paid_booking_refunds_it(client, app, parent):
    from nibog.booking.service import cancel_booking

    booking, payment_id = paid_booking(client, app, parent)
    _, amount = cancel_booking(booking.id, actor_id=parent.id, reason="Child unwell")
    boundary.commit()

    assert amount == PRICE
    payment = reload(Payment, payment_id)
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)
    (row,) = db.session.scalars(select(Refund).where(Refund.payment_id == payment_id)).all()
    assert (row.amount, row.status, row.reason) == (PRICE, "processed", "Child unwell")
    assert messages("refund_processed", booking.id) == 1


def test_cancelling_after_staff_refunded_part_reports_only_what_is_left(
    client, app, parent, admin
):
    """Staff gave back 300 of 799 already; the parent's cancellation refunds (and says) 499,
    not the 799 the policy alone would allow."""
    booking, payment_id = paid_booking(client, app, parent)
    assert refund(client, admin, payment_id, 30000).status_code == 201
    resp = client.put(f"/api/bookings/{booking.id}/cancel", json={"reason": "plans changed"},
                      headers=auth_headers(parent))
    assert resp.status_code == 200
    assert resp.get_json()["refund"]["amount"] == PRICE - 30000
    payment = reload(Payment, payment_id)
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)
    refunds = db.session.scalars(select(Refund.amount).where(Refund.payment_id == payment_id))
    assert sorted(refunds) == sorted([30000, PRICE - 30000])


def test_cancelling_after_staff_refunded_everything_promises_no_refund(
    client, app, parent, admin
):
    booking, payment_id = paid_booking(client, app, parent)
    assert refund(client, admin, payment_id).status_code == 201
    resp = client.put(f"/api/bookings/{booking.id}/cancel", json={},
                      headers=auth_headers(parent))
    assert resp.status_code == 200
    assert resp.get_json()["refund"]["amount"] == 0
    assert db.session.query(Refund).count() == 1


def test_refund_booking_payments_is_capped_at_what_was_paid(client, app, parent):
    from nibog.payments.service import refund_booking_payments

    booking, payment_id = paid_booking(client, app, parent)
    assert refund_booking_payments(booking.id, 0, reason="x", actor_id=None) == []
    refunds = refund_booking_payments(booking.id, PRICE * 5, reason="goodwill", actor_id=None)
    boundary.commit()
    assert [r.amount for r in refunds] == [PRICE]
    assert refund_booking_payments(booking.id, 100, reason="again", actor_id=None) == []
    boundary.commit()
    assert reload(Payment, payment_id).amount_refunded == PRICE


def test_late_payment_retakes_free_seats(client, app, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    expire_hold(booking.id)

    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    resp = post_webhook(client, *webhook_for(app, "payment.captured", paid["payment"]))
    assert resp.get_json()["result"] == "captured"
    assert reload(Booking, booking.id).status == "confirmed"
    assert reload(Payment, order["payment_id"]).status == "captured"
    assert messages("late_payment_refunded") == 0


def test_late_payment_without_seats_is_refunded_in_full(client, app, parent, other_parent):
    slot = GameSlotFactory(capacity=1)
    booking = make_booking(parent, slot=slot)
    order = open_payment(client, parent, booking)
    expire_hold(booking.id)
    make_booking(other_parent, slot=slot)  # the freed seat is sold to someone else

    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    resp = confirm(client, parent, order["payment_id"], paid["payment"]["id"], paid["signature"])
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "refunded"
    assert resp.get_json()["booking_status"] == "expired"

    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)
    (row,) = db.session.scalars(select(Refund).where(Refund.payment_id == payment.id)).all()
    assert (row.amount, row.status) == (PRICE, "processed")
    # One e-mail, saying why the money came back - not that plus a plain "refund processed".
    assert messages("late_payment_refunded", booking.id) == 1
    assert messages("refund_processed", booking.id) == 0
    assert messages("booking_confirmed", booking.id) == 0
    # The webhook for the same capture arriving afterwards finds the work done.
    resp = post_webhook(client, *webhook_for(app, "payment.captured", paid["payment"]))
    assert resp.get_json()["result"] == "already_captured"
    assert db.session.query(Refund).count() == 1


def _event_of(booking):
    from nibog.catalog.models import Event

    return db.session.get(Event, reload(Booking, booking.id).event_id)


def assert_refunded_not_confirmed(booking, payment_id):
    assert reload(Booking, booking.id).status == "expired"  # not revived by the payment
    payment = reload(Payment, payment_id)
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)
    assert messages("booking_confirmed", booking.id) == 0
    assert messages("late_payment_refunded", booking.id) == 1


def test_late_payment_for_a_cancelled_event_is_refunded(client, app, parent, admin):
    """The hold expired, then the event was cancelled (the cancellation's sweep skips expired
    bookings); the payment lands after: the money goes back, the booking is not revived."""
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    expire_hold(booking.id)
    event = _event_of(booking)
    resp = client.post(f"/api/admin/events/{event.id}/status", json={"status": "cancelled"},
                       headers=auth_headers(admin))
    assert resp.status_code == 200
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    resp = post_webhook(client, *webhook_for(app, "payment.captured", paid["payment"]))
    assert resp.get_json()["result"] == "late_payment_refunded"
    assert_refunded_not_confirmed(booking, order["payment_id"])


def test_late_payment_for_an_event_that_is_over_is_refunded(client, app, parent):
    from nibog.core.timeutil import today_ist

    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    expire_hold(booking.id)
    _event_of(booking).event_date = today_ist() - timedelta(days=2)
    boundary.commit()
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    resp = post_webhook(client, *webhook_for(app, "payment.captured", paid["payment"]))
    assert resp.get_json()["result"] == "late_payment_refunded"
    assert_refunded_not_confirmed(booking, order["payment_id"])


def test_payment_for_a_live_hold_in_a_cancelled_event_is_refunded(client, app, parent):
    """A hold that missed the cancellation's sweep (it committed just after) is not confirmed
    by its payment: the money goes back."""
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    _event_of(booking).status = "cancelled"  # as if the sweep had already run
    boundary.commit()
    # No new order can be opened for it...
    again = create_payment(client, parent, booking)
    assert again.status_code == 409 and error_code(again) == "booking_not_payable"
    # ...and the one already open is refunded when it is paid.
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    resp = post_webhook(client, *webhook_for(app, "payment.captured", paid["payment"]))
    assert resp.get_json()["result"] == "late_payment_refunded"
    assert reload(Booking, booking.id).status == "pending_payment"
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)


def test_desk_confirmation_after_a_refunded_late_payment_counts_as_cash(
    client, app, parent, other_parent, admin
):
    """The late payment went back in full; the parent then pays at the desk. The booking is a
    cash booking: cancelling it later must not look for an online payment to refund."""
    slot = GameSlotFactory(capacity=1)
    booking = make_booking(parent, slot=slot)
    order = open_payment(client, parent, booking)
    expire_hold(booking.id)
    taker = make_booking(other_parent, slot=slot)
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    post_webhook(client, *webhook_for(app, "payment.captured", paid["payment"]))
    assert reload(Payment, order["payment_id"]).status == "refunded"
    client.put(f"/api/admin/bookings/{taker.id}", json={"status": "cancelled"},
               headers=auth_headers(admin))
    resp = client.put(f"/api/admin/bookings/{booking.id}", json={"status": "confirmed"},
                      headers=auth_headers(admin))
    assert resp.status_code == 200, resp.get_json()
    confirmed = reload(Booking, booking.id)
    assert (confirmed.status, confirmed.payment_mode) == ("confirmed", "cash")


def test_a_second_payment_for_a_paid_booking_is_refunded(client, app, parent):
    booking = make_booking(parent)
    first, second = paid_on_a_second_order(client, app, parent, booking)
    assert reload(Booking, booking.id).status == "confirmed"

    # The parent's bank finally pushes through a retry on the first order as well.
    late = sandbox(app).simulate_payment(first["provider_order_id"])
    resp = post_webhook(client, *webhook_for(app, "payment.captured", late["payment"]))
    assert resp.get_json()["result"] == "duplicate_payment_refunded"
    assert reload(Payment, first["payment_id"]).status == "refunded"
    assert reload(Payment, second["payment_id"]).status == "captured"
    assert messages("booking_confirmed", booking.id) == 1


def test_payment_for_a_booking_cancelled_meanwhile_is_refunded(client, app, parent):
    from nibog.booking.service import cancel_booking

    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    cancel_booking(booking.id, actor_id=parent.id, reason="Changed plans")
    boundary.commit()

    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    resp = post_webhook(client, *webhook_for(app, "payment.captured", paid["payment"]))
    assert resp.get_json()["result"] == "late_payment_refunded"
    assert reload(Booking, booking.id).status == "cancelled"
    payment = reload(Payment, order["payment_id"])
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)
    assert messages("late_payment_refunded", booking.id) == 1
    assert messages("refund_processed", booking.id) == 0


def _pending_refund(payment_id, amount):
    """A refund reserved and not yet sent (its job held back), as ``process_refund`` finds it."""
    from nibog.core import jobs
    from nibog.payments.history import lock_booking, lock_payment
    from nibog.payments.refunds import create_refund

    payment = reload(Payment, payment_id)
    lock_booking(payment.booking_id)
    payment = lock_payment(payment_id)
    row = create_refund(payment, amount, reason="goodwill", actor_id=None, source="admin")
    jobs.discard_pending_jobs()
    boundary.commit()
    return row.id, payment


def _refund_webhook(app, payment, refund_id, amount, status="processed"):
    entity = {"id": payment.provider_payment_id, "order_id": payment.provider_order_id,
              "amount": PRICE, "currency": "INR", "status": "captured", "method": "upi"}
    refund_entity = {"id": refund_id, "payment_id": payment.provider_payment_id,
                     "amount": amount, "status": status}
    return webhook_for(app, f"refund.{status}", entity, refund_entity)


@pytest.mark.commits  # a second connection and a thread
def test_refund_webhook_that_races_the_refund_job_settles_the_refund(client, app, parent):
    """The refund job holds its row across the gateway call; the gateway's webhook arrives
    before the job commits the gateway's refund id. The webhook waits, then settles it."""
    import threading

    import sqlalchemy as sa

    booking, payment_id = paid_booking(client, app, parent)
    refund_id, payment = _pending_refund(payment_id, 10000)
    body, headers = _refund_webhook(app, payment, "rfnd_RACE0000000001", 10000)
    job = db.engine.connect()
    held = job.begin()
    job.execute(sa.text("SELECT id FROM refunds WHERE id = :i FOR UPDATE"), {"i": refund_id})
    out = {}

    def webhook():
        with app.app_context():
            out["resp"] = app.test_client().post(
                "/webhooks/payment/refund", data=body, headers=headers
            ).get_json()

    thread = threading.Thread(target=webhook, daemon=True)
    thread.start()
    thread.join(1.5)  # the webhook is now waiting for the job's lock
    job.execute(sa.text("UPDATE refunds SET provider_refund_id = 'rfnd_RACE0000000001' "
                        "WHERE id = :i"), {"i": refund_id})
    held.commit()
    job.close()
    thread.join(30)
    assert not thread.is_alive(), "the webhook hung"
    row = reload(Refund, refund_id)
    assert row.status == "processed"
    assert not (reload(Payment, payment_id).raw or {}).get("flags")


def test_a_refund_paid_out_after_it_failed_is_counted_again(client, app, parent):
    from nibog.core import jobs
    from nibog.payments.refunds import mark_refund_failed

    booking, payment_id = paid_booking(client, app, parent)
    refund_id, payment = _pending_refund(payment_id, PRICE)
    row = reload(Refund, refund_id)
    row.provider_refund_id = "rfnd_FAILTHENOK001"
    mark_refund_failed(row, "gateway refused", source="job")
    jobs.discard_pending_jobs()
    boundary.commit()
    assert reload(Payment, payment_id).amount_refunded == 0
    resp = post_webhook(client, *_refund_webhook(app, payment, "rfnd_FAILTHENOK001", PRICE),
                        route="refund")
    assert resp.status_code == 200
    assert reload(Refund, refund_id).status == "processed"
    paid = reload(Payment, payment_id)
    assert (paid.status, paid.amount_refunded) == ("refunded", PRICE)
    # Nothing more can be refunded from it.
    assert refund_booking_payments_left(booking.id) == []


def refund_booking_payments_left(booking_id):
    from nibog.payments.service import refund_booking_payments

    return refund_booking_payments(booking_id, PRICE, reason="again", actor_id=None)


@pytest.mark.commits  # a second connection holds the row lock
def test_a_refund_job_that_finds_its_row_busy_retries_instead_of_giving_up(client, app, parent):
    import pytest
    import sqlalchemy as sa

    from nibog.payments.tasks import RefundBusy, process_refund

    booking, payment_id = paid_booking(client, app, parent)
    refund_id, _ = _pending_refund(payment_id, 10000)
    other = db.engine.connect()
    held = other.begin()
    other.execute(sa.text("SELECT id FROM refunds WHERE id = :i FOR UPDATE"), {"i": refund_id})
    try:
        with pytest.raises(RefundBusy):
            process_refund(refund_id)
    finally:
        held.rollback()
        other.close()
    assert process_refund(refund_id) in ("processed", "pending")
    assert reload(Refund, refund_id).provider_refund_id is not None

"""Rules of nibog/payments/refunds.py that mutation testing found no test holding
(docs/testing.md, "Mutation testing"): refund caps, reservations and the gateway calls."""

from __future__ import annotations

import pytest

from nibog.booking.admin.actions import refund_options
from nibog.booking.lifecycle import cancellation_terms
from nibog.extensions import db
from tests.factories import PaymentFactory
from tests.helpers import auth_headers
from tests.payments.support import PRICE, make_booking


def _paid(parent, **fields):
    booking = make_booking(parent, status="confirmed")
    for name, value in fields.items():
        setattr(booking, name, value)
    db.session.commit()
    return booking


def test_a_cancellation_offers_no_more_than_the_payments_can_still_give_back(app, parent):
    """Staff refunded part of an online payment: cancelling now offers the rest, not the
    booking's price; a failed attempt and another booking's payment give nothing back."""
    booking = _paid(parent)
    PaymentFactory(booking=booking, status="partially_refunded", amount_refunded=30000)
    PaymentFactory(booking=booking, status="failed", provider_order_id="order_failed",
                   provider_payment_id="pay_failed", captured_at=None)
    other = _paid(parent)
    PaymentFactory(booking=other)
    db.session.commit()
    assert cancellation_terms(booking).refund == PRICE - 30000
    assert refund_options(booking.id)["max"] == PRICE - 30000
    assert refund_options(booking.id)["policy"] == PRICE - 30000
    assert cancellation_terms(other).refund == PRICE


def test_a_fully_refunded_payment_leaves_nothing_to_offer(app, parent):
    booking = _paid(parent)
    PaymentFactory(booking=booking, status="refunded", amount_refunded=PRICE)
    db.session.commit()
    terms = cancellation_terms(booking)
    assert terms.refund == 0 and terms.method is None
    assert refund_options(booking.id)["max"] == 0


def test_a_cash_booking_is_refunded_at_the_desk_whatever_was_paid_online(app, parent):
    """Cash goes back at the desk: no online payment bounds it."""
    booking = _paid(parent, payment_mode="cash")
    terms = cancellation_terms(booking)
    assert terms.refund == PRICE and terms.method == "cash"
    assert refund_options(booking.id)["max"] == PRICE


def test_a_failed_refund_is_recorded_on_its_own_history_once(app, parent):
    """The gateway refused: the refund's history shows pending → failed (support reads it),
    the reservation is given back, and a repeated failure report changes nothing."""
    from sqlalchemy import select

    from nibog.core import boundary, jobs
    from nibog.payments.history import lock_booking, lock_payment
    from nibog.payments.models import Payment, PaymentFlag, PaymentStatusChange
    from nibog.payments.refunds import create_refund, mark_refund_failed, mark_refund_processed

    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking).id
    db.session.commit()
    lock_booking(booking.id)
    refund = create_refund(lock_payment(payment_id), 10000, reason="goodwill", actor_id=None,
                           source="admin")
    jobs.discard_pending_jobs()  # the gateway call is not made: it "refuses" below
    boundary.commit()
    assert mark_refund_failed(refund, "gateway refused", source="job") is True
    boundary.commit()
    history = db.session.execute(
        select(PaymentStatusChange.refund_id, PaymentStatusChange.from_status,
               PaymentStatusChange.to_status, PaymentStatusChange.note)
        .where(PaymentStatusChange.payment_id == payment_id).order_by(PaymentStatusChange.id)
    ).all()
    assert (refund.id, "pending", "failed", "gateway refused") in history
    assert (None, "partially_refunded", "captured",
            f"refund #{refund.id} failed: gateway refused") in history
    payment = db.session.get(Payment, payment_id)
    assert (payment.status, payment.amount_refunded) == ("captured", 0)
    flags = db.session.execute(select(PaymentFlag.kind, PaymentFlag.note)
                               .where(PaymentFlag.payment_id == payment_id)).all()
    assert flags == [("refund_failed",
                      f"refund #{refund.id} of 10000 failed at the gateway: gateway refused")]
    assert mark_refund_failed(refund, "gateway refused again", source="webhook") is False
    # Paid out after all (the gateway changed its mind), then reported again: recorded once.
    assert mark_refund_processed(refund, "rfnd_late", source="webhook") is True
    assert mark_refund_processed(refund, "rfnd_late", source="webhook") is False


def _reserve(booking_id, amount):
    """What cancelling a booking refunds, as the booking engine asks (its lock held)."""
    from nibog.core import boundary, jobs
    from nibog.payments.history import lock_booking
    from nibog.payments.refunds import refund_booking_payments

    lock_booking(booking_id)
    refunds = refund_booking_payments(booking_id, amount, reason="cancelled", actor_id=None)
    jobs.discard_pending_jobs()
    boundary.commit()
    return [(r.payment_id, r.amount) for r in refunds]


def test_a_cancellation_refunds_only_its_own_bookings_payments(app, parent):
    """Another booking's payment (made first, so first by id) is never touched; one paisa is
    a refund too; nothing asked, nothing refunded."""
    from nibog.payments.models import Payment

    other = _paid(parent)
    other_payment = PaymentFactory(booking=other).id
    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking).id
    db.session.commit()
    assert _reserve(booking.id, 0) == []
    assert _reserve(booking.id, 1) == [(payment_id, 1)]
    # One paisa back is a partial refund: the parent sees it, and the rest can still be given.
    assert db.session.get(Payment, payment_id).status == "partially_refunded"
    assert _reserve(booking.id, PRICE) == [(payment_id, PRICE - 1)]
    assert db.session.get(Payment, other_payment).amount_refunded == 0


@pytest.mark.commits  # another connection commits during the test
def test_a_cancellation_refund_counts_what_was_refunded_meanwhile(app, parent):
    """The payment was read before another transaction refunded part of it: the refund
    under the lock gives back only what is left, never more than was captured."""
    from sqlalchemy import update

    from nibog.payments.models import Payment

    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking).id
    db.session.commit()
    read_before = db.session.get(Payment, payment_id)  # held: the session keeps it
    assert read_before.amount_refunded == 0
    with db.engine.begin() as other:
        other.execute(update(Payment).where(Payment.id == payment_id)
                      .values(amount_refunded=30000, status="partially_refunded"))
    assert _reserve(booking.id, PRICE) == [(payment_id, PRICE - 30000)]
    db.session.expire_all()
    assert db.session.get(Payment, payment_id).amount_refunded == PRICE


def test_a_staff_refund_is_recorded_as_staffs(app, parent, admin):
    """The payment's history says a refund came from staff (not the booking engine or a
    webhook): support reads it when a parent asks why money came back."""
    from sqlalchemy import select

    from nibog.core import boundary, jobs
    from nibog.payments.models import PaymentStatusChange
    from nibog.payments.refunds import refund_payment

    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking).id
    db.session.commit()
    refund = refund_payment(payment_id, 10000, reason="goodwill", actor_id=admin.id)
    jobs.discard_pending_jobs()
    boundary.commit()
    sources = set(db.session.scalars(select(PaymentStatusChange.source)
                                     .where(PaymentStatusChange.payment_id == payment_id)))
    assert sources == {"admin"} and refund.requested_by_id == admin.id
    assert refund.reason == "goodwill"


def _booking_paid_twice(parent):
    """A booking paid in two captured payments of PRICE each (a repaid hold, say)."""
    booking = _paid(parent)
    booking.total = booking.subtotal = 2 * PRICE
    first = PaymentFactory(booking=booking, amount=PRICE).id
    second = PaymentFactory(booking=booking, amount=PRICE, provider_order_id="order_second",
                            provider_payment_id="pay_second").id
    db.session.commit()
    return booking, first, second


def test_a_cancellation_refund_spreads_over_the_payments_in_order(app, parent, admin):
    """First payment first, then the next for what is left - to the paisa; the refunds are
    the cancelling staff member's and the history says the booking engine made them. The
    first payment was captured after the second (its row, and its index entries, written
    again after the second's, so the table alone now returns it second): still first."""
    from sqlalchemy import select, update

    from nibog.core.timeutil import utcnow
    from nibog.payments.models import Payment, PaymentStatusChange, Refund

    booking, first, second = _booking_paid_twice(parent)
    db.session.execute(update(Payment).where(Payment.id == first).values(captured_at=utcnow()))
    db.session.commit()
    from nibog.core import boundary, jobs
    from nibog.payments.history import lock_booking
    from nibog.payments.refunds import refund_booking_payments

    lock_booking(booking.id)
    refunds = refund_booking_payments(booking.id, PRICE + 1, reason="cancelled",
                                      actor_id=admin.id)
    jobs.discard_pending_jobs()
    boundary.commit()
    assert [(r.payment_id, r.amount) for r in refunds] == [(first, PRICE), (second, 1)]
    assert {r.requested_by_id for r in db.session.scalars(select(Refund))} == {admin.id}
    assert set(db.session.scalars(select(PaymentStatusChange.source))) == {"booking"}


def test_a_cancellation_refund_above_what_was_captured_is_capped(app, parent):
    """Asked for more than the payments can give back: all of it is refunded, no more."""
    booking, first, second = _booking_paid_twice(parent)
    assert _reserve(booking.id, 2 * PRICE + 1) == [(first, PRICE), (second, PRICE)]
    assert _reserve(booking.id, 1) == []


def test_the_last_paisa_can_be_refunded_and_then_nothing(client, app, parent, admin):
    """Staff refund all but one paisa, then the last one; then the payment is refused with
    its status named."""
    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking).id
    db.session.commit()

    def staff_refund(amount=None):
        body = {"payment_id": payment_id, "reason": "goodwill"}
        if amount is not None:
            body["amount"] = amount
        return client.post("/api/payments/refund", json=body, headers=auth_headers(admin))

    assert staff_refund(PRICE - 1).status_code == 201
    last = staff_refund()
    assert last.status_code == 201 and last.get_json()["amount"] == 1
    refused = staff_refund()
    assert refused.status_code == 409
    assert refused.get_json()["error"] == {
        "code": "payment_not_refundable",
        "message": f"Payment {payment_id} is refunded; nothing can be refunded",
        "details": {"status": "refunded"}}
    missing = client.post("/api/payments/refund", json={"payment_id": payment_id + 1000,
                                                         "reason": "x"},
                          headers=auth_headers(admin))
    assert missing.status_code == 404
    assert missing.get_json()["error"]["message"] == "Payment not found"


def _failed_refund(payment_id, amount):
    from nibog.core import boundary, jobs
    from nibog.payments.history import lock_booking, lock_payment
    from nibog.payments.models import Payment
    from nibog.payments.refunds import create_refund, mark_refund_failed

    lock_booking(db.session.get(Payment, payment_id).booking_id)
    refund = create_refund(lock_payment(payment_id), amount, reason="goodwill", actor_id=None,
                           source="admin")
    jobs.discard_pending_jobs()
    mark_refund_failed(refund, "gateway refused", source="job")
    boundary.commit()
    return refund


def test_a_failed_refund_paid_out_after_all_counts_on_top_of_earlier_refunds(app, parent):
    """The gateway refused, then paid out after all: counted again on top of what was
    refunded before - reaching exactly the captured amount is no overflow."""
    from sqlalchemy import select

    from nibog.core import boundary
    from nibog.payments.models import Payment, PaymentFlag, PaymentStatusChange
    from nibog.payments.refunds import mark_refund_processed

    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking, status="partially_refunded",
                                amount_refunded=PRICE - 10000).id
    db.session.commit()
    refund = _failed_refund(payment_id, 10000)
    assert mark_refund_processed(refund, "rfnd_after_all", source="webhook") is True
    boundary.commit()
    payment = db.session.get(Payment, payment_id)
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)
    assert db.session.scalars(select(PaymentFlag.kind)
                              .where(PaymentFlag.payment_id == payment_id)).all() == [
        "refund_failed"]  # the failure's flag only: nothing exceeds what was captured
    assert ("partially_refunded", "refunded", f"refund #{refund.id} paid out after failing") in \
        db.session.execute(select(PaymentStatusChange.from_status, PaymentStatusChange.to_status,
                                  PaymentStatusChange.note)
                           .where(PaymentStatusChange.refund_id.is_(None))).all()


def test_a_failed_refund_paid_out_after_the_money_went_back_another_way_is_flagged(app, parent):
    """Refused, refunded again by staff in full, then paid out after all: the payment counts
    no more than was captured and support is told the refunds exceed it."""
    from sqlalchemy import select

    from nibog.core import boundary, jobs
    from nibog.payments.models import Payment, PaymentFlag
    from nibog.payments.refunds import mark_refund_processed, refund_payment

    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking).id
    db.session.commit()
    refund = _failed_refund(payment_id, 10000)
    refund_payment(payment_id, None, reason="again", actor_id=None)
    jobs.discard_pending_jobs()
    boundary.commit()
    assert mark_refund_processed(refund, "rfnd_after_all", source="webhook") is True
    boundary.commit()
    payment = db.session.get(Payment, payment_id)
    assert (payment.status, payment.amount_refunded) == ("refunded", PRICE)
    assert sorted(db.session.execute(select(PaymentFlag.kind, PaymentFlag.note)
                                     .where(PaymentFlag.payment_id == payment_id))) == [
        ("refund_failed", f"refund #{refund.id} of 10000 failed at the gateway: gateway refused"),
        ("refund_failed", f"refund #{refund.id} paid out after it had failed, and the payment's "
                          "refunds now exceed what was captured")]


# --- the payout: what the parent is told and what is recorded (2026-12-05, second run) -------

def _paid_out(parent, amount):
    """A staff refund of ``amount`` on the parent's captured payment, paid out by the gateway
    (its webhook); the "refund processed" e-mail is delivered at the commit."""
    from nibog.core import boundary, jobs
    from nibog.notifications.channels import CONSOLE_OUTBOX
    from nibog.payments.refunds import mark_refund_processed, refund_payment

    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking).id
    db.session.commit()
    refund = refund_payment(payment_id, amount, reason="goodwill", actor_id=None)
    jobs.discard_pending_jobs()  # the gateway call is not made: its webhook reports it below
    boundary.commit()
    CONSOLE_OUTBOX.clear()
    assert mark_refund_processed(refund, "rfnd_paid", source="webhook") is True
    boundary.commit()
    return booking, payment_id, refund


def test_a_paid_out_refund_is_mailed_to_the_parent_in_their_language(app, parent):
    """The parent reads which booking, how much (to the paisa) and in their own language."""
    from nibog.notifications.channels import CONSOLE_OUTBOX

    parent.language = "hi"
    booking, _, refund = _paid_out(parent, 10050)
    [mail] = [m for m in CONSOLE_OUTBOX if m["To"] == parent.email]
    assert mail["Subject"] == f"बुकिंग {booking.booking_number} की धनवापसी"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "आपकी ₹100.50 की धनवापसी हो गई है।" in text
    assert len(CONSOLE_OUTBOX) == 1


def test_a_paid_out_refund_shows_when_it_was_paid_and_its_history(client, app, parent):
    """The parent's payment shows the refund processed, and when; the payment's history (what
    support reads) says who asked for how much and why, then pending → processed by the
    webhook."""
    from datetime import timedelta

    from sqlalchemy import select

    from nibog.core.timeutil import utcnow
    from nibog.payments.models import PaymentStatusChange

    before = utcnow()
    _, payment_id, refund = _paid_out(parent, 10000)
    [shown] = client.get(f"/api/payments/{payment_id}",
                         headers=auth_headers(parent)).get_json()["refunds"]
    assert (shown["status"], shown["provider_refund_id"]) == ("processed", "rfnd_paid")
    assert shown["processed_at"] is not None
    db.session.expire_all()
    assert before - timedelta(seconds=1) <= refund.processed_at <= utcnow()
    history = db.session.execute(
        select(PaymentStatusChange.refund_id, PaymentStatusChange.from_status,
               PaymentStatusChange.to_status, PaymentStatusChange.source,
               PaymentStatusChange.note)
        .where(PaymentStatusChange.payment_id == payment_id).order_by(PaymentStatusChange.id)
    ).all()
    assert history == [
        (None, "captured", "partially_refunded", "admin", f"refund #{refund.id} of 10000 requested"),
        (refund.id, None, "pending", "admin", "goodwill"),
        (refund.id, "pending", "processed", "webhook", ""),
    ]


def test_what_a_cancellation_could_not_refund_is_logged_for_ops(app, parent, caplog, monkeypatch):
    """Asked to give back more than the payments hold, the cancellation refunds what is there
    and leaves ops a warning naming the booking, what was asked and what was not refunded; a
    refund that fits leaves none."""
    import logging

    logger = logging.getLogger("nibog.payments.refunds")
    # Alembic's fileConfig (migrations/env.py, run by the test session's set-up) disables the
    # loggers that exist before it; the app's own processes never run it.
    monkeypatch.setattr(logger, "disabled", False)
    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking).id
    db.session.commit()
    with caplog.at_level(logging.WARNING, logger=logger.name):
        assert _reserve(booking.id, PRICE - 1) == [(payment_id, PRICE - 1)]
        assert [r for r in caplog.records if r.name == logger.name] == []
        assert _reserve(booking.id, 2) == [(payment_id, 1)]
    [warning] = [r for r in caplog.records if r.name == logger.name]
    assert (warning.levelname, warning.getMessage()) == ("WARNING",
                                                         "refund capped at captured amount")
    assert (warning.booking_id, warning.asked, warning.not_refunded) == (booking.id, 2, 1)


def test_a_refund_above_what_is_left_says_how_much_can_go_back(client, app, parent, admin):
    """Staff asked for one paisa more than is left: 422, and the answer names what can still
    be refunded (the admin form shows it under the amount)."""
    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking, status="partially_refunded",
                                amount_refunded=30000).id
    db.session.commit()
    over = client.post("/api/payments/refund",
                       json={"payment_id": payment_id, "amount": PRICE - 30000 + 1,
                             "reason": "goodwill"}, headers=auth_headers(admin))
    assert over.status_code == 422
    assert over.get_json()["error"] == {
        "code": "refund_exceeds_captured",
        "message": f"At most {PRICE - 30000} paise can be refunded on this payment",
        "details": {"amount": [f"must be between 1 and {PRICE - 30000}"]}}


def test_a_payment_that_never_went_through_has_nothing_to_refund(app, parent, admin):
    """Staff open a failed payment in the dashboard: nothing is left to refund, and there is
    no refund form to send."""
    from tests.helpers import html, sign_in

    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking, status="failed", captured_at=None).id
    db.session.commit()
    staff = app.test_client()
    sign_in(staff, admin)
    body = html(staff.get(f"/admin/payments/{payment_id}"))
    assert "Nothing is left to refund on this payment." in body
    assert f"/admin/payments/{payment_id}/refund" not in body


# -- the refund jobs' bodies (send_refund, ask_about_refund), mutated since 6 Dec 2026 ---------
def _reserved_refunds(parent, *amounts):
    """Staff refunds of ``amounts`` on one captured payment, reserved and not yet sent (their
    jobs held back), as the refund job finds them."""
    from nibog.core import boundary, jobs
    from nibog.payments.refunds import refund_payment

    booking = _paid(parent)
    payment_id = PaymentFactory(booking=booking).id
    db.session.commit()
    refunds = [refund_payment(payment_id, amount, reason="goodwill", actor_id=None)
               for amount in amounts]
    jobs.discard_pending_jobs()
    boundary.commit()
    return payment_id, [r.id for r in refunds]


def _accepted(refund_id, provider_refund_id):
    """The gateway took the refund and will pay it out later: pending with its id."""
    from nibog.payments.models import Refund

    db.session.get(Refund, refund_id).provider_refund_id = provider_refund_id
    db.session.commit()


def _refund_row(refund_id):
    from nibog.payments.models import Refund

    db.session.expire_all()
    r = db.session.get(Refund, refund_id)
    return r.status, r.provider_refund_id


def _gateway_calls(monkeypatch, name, result=None):
    """Count the sandbox gateway's ``name`` calls (the refund ids asked about); ``result``
    (status, provider id) replaces its answer, as another gateway might reply."""
    from nibog.payments.gateways.base import RefundResult
    from nibog.payments.gateways.sandbox import SandboxGateway

    calls = []
    real = getattr(SandboxGateway, name)

    def counted(self, **kwargs):
        calls.append(kwargs)
        if result is not None:
            return RefundResult(result[1], result[0], {"id": result[1], "status": result[0]})
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, name, counted)
    return calls


def test_the_refund_job_sends_its_own_refund_and_only_once(app, parent, monkeypatch):
    """Two refunds wait on one payment: the job for the second sends the second (its amount),
    the first stays waiting; run again, it finds nothing to do and asks the gateway nothing."""
    from nibog.core import boundary
    from nibog.payments.refunds import process_refund

    _, (first, second) = _reserved_refunds(parent, 10000, 20000)
    calls = _gateway_calls(monkeypatch, "refund")
    assert boundary.run_unit(process_refund, second) == "processed"
    assert [c["amount"] for c in calls] == [20000]
    assert _refund_row(second)[0] == "processed" and _refund_row(first) == ("pending", None)
    assert boundary.run_unit(process_refund, second) == "nothing_to_do"
    assert len(calls) == 1, "a refund paid out is never sent again"


def test_the_refund_check_asks_about_its_own_accepted_refund_only(app, parent, monkeypatch):
    """The status check is for a refund the gateway accepted and has not paid out: it settles
    that one; one not sent yet (no gateway id) or already settled is nothing to do, and the
    gateway is not asked."""
    from nibog.core import boundary
    from nibog.payments.refunds import check_refund

    _, (accepted, other_accepted, unsent) = _reserved_refunds(parent, 10000, 10000, 5000)
    _accepted(other_accepted, "rfnd_other")
    _accepted(accepted, "rfnd_accepted")
    calls = _gateway_calls(monkeypatch, "refund_status")
    assert boundary.run_unit(check_refund, unsent) == "nothing_to_do"
    assert calls == [] and _refund_row(unsent) == ("pending", None)
    assert boundary.run_unit(check_refund, accepted) == "processed"
    assert [c["provider_refund_id"] for c in calls] == ["rfnd_accepted"]
    assert _refund_row(accepted) == ("processed", "rfnd_accepted")
    assert _refund_row(other_accepted) == ("pending", "rfnd_other")
    assert boundary.run_unit(check_refund, accepted) == "nothing_to_do"
    assert len(calls) == 1


def test_the_refund_check_records_what_the_gateway_said(app, parent, monkeypatch):
    """Paid out: the refund keeps the id the gateway reports and its history says the check
    (reconcile) settled it; refused: failed with the reason support reads."""
    from sqlalchemy import select

    from nibog.core import boundary
    from nibog.payments.models import PaymentStatusChange
    from nibog.payments.refunds import check_refund

    payment_id, (paid, refused) = _reserved_refunds(parent, 10000, 5000)
    _accepted(paid, "rfnd_asked")
    _accepted(refused, "rfnd_refused")
    _gateway_calls(monkeypatch, "refund_status", ("processed", "rfnd_final"))
    assert boundary.run_unit(check_refund, paid) == "processed"
    assert _refund_row(paid) == ("processed", "rfnd_final")
    _gateway_calls(monkeypatch, "refund_status", ("failed", "rfnd_refused"))
    assert boundary.run_unit(check_refund, refused) == "failed"
    assert _refund_row(refused)[0] == "failed"
    history = db.session.execute(
        select(PaymentStatusChange.refund_id, PaymentStatusChange.to_status,
               PaymentStatusChange.source, PaymentStatusChange.note)
        .where(PaymentStatusChange.payment_id == payment_id,
               PaymentStatusChange.source == "reconcile")
        .order_by(PaymentStatusChange.id)).all()
    assert (paid, "processed", "reconcile", "") in history
    assert (refused, "failed", "reconcile", "gateway reports the refund failed") in history


def test_the_refund_check_asks_the_gateway_the_payment_was_made_with(app, parent, monkeypatch):
    """The business moved to another gateway: a refund of an older payment is still asked
    about at the gateway that took the payment."""
    from nibog.core import boundary
    from nibog.payments.refunds import check_refund

    _, (refund_id,) = _reserved_refunds(parent, 10000)
    _accepted(refund_id, "rfnd_old_gateway")
    calls = _gateway_calls(monkeypatch, "refund_status")
    monkeypatch.setitem(app.config, "PAYMENT_PROVIDER", "razorpay")
    assert boundary.run_unit(check_refund, refund_id) == "processed"
    assert len(calls) == 1 and _refund_row(refund_id)[0] == "processed"


def _gateway_refunds(monkeypatch, answers):
    """The sandbox's ``refund`` answering from ``answers`` (refund amount -> (status, gateway
    id), or a GatewayError to raise), as a real gateway might."""
    from nibog.payments.gateways.base import RefundResult
    from nibog.payments.gateways.sandbox import SandboxGateway

    def refund(self, *, amount, **_kwargs):
        answer = answers[amount]
        if isinstance(answer, Exception):
            raise answer
        return RefundResult(answer[1], answer[0], {"id": answer[1], "status": answer[0]})

    monkeypatch.setattr(SandboxGateway, "refund", refund)


def _refund_history(payment_id, refund_id):
    from sqlalchemy import select

    from nibog.payments.models import PaymentStatusChange as H

    return db.session.execute(select(H.to_status, H.source, H.note)
                              .where(H.payment_id == payment_id, H.refund_id == refund_id)
                              .order_by(H.id)).all()


def test_the_refund_job_records_what_the_gateway_said(app, parent, monkeypatch):
    """Paid out, refused with its id, refused by an error: each refund's status, gateway id
    and history (by the job, with the reason support reads), and the job's own answer."""
    from nibog.core import boundary
    from nibog.payments.gateways.base import GatewayError
    from nibog.payments.refunds import process_refund

    payment_id, (paid, refused, errored) = _reserved_refunds(parent, 1000, 2000, 3000)
    _gateway_refunds(monkeypatch, {
        1000: ("processed", "rfnd_paid"), 2000: ("failed", "rfnd_refused"),
        3000: GatewayError("card network said no", transient=False)})
    assert boundary.run_unit(process_refund, paid) == "processed"
    assert boundary.run_unit(process_refund, refused) == "failed"
    assert boundary.run_unit(process_refund, errored) == "failed"
    assert (_refund_row(paid), _refund_row(refused), _refund_row(errored)) == (
        ("processed", "rfnd_paid"), ("failed", "rfnd_refused"), ("failed", None))
    assert _refund_history(payment_id, paid)[-1] == ("processed", "job", "")
    assert _refund_history(payment_id, refused)[-1] == ("failed", "job", "gateway refused the refund")
    assert _refund_history(payment_id, errored)[-1] == ("failed", "job", "card network said no")


def test_a_refund_the_gateway_could_not_take_yet_is_retried_and_logged(
        app, parent, monkeypatch, caplog):
    """A timeout: the job fails so RQ retries it, the refund stays reserved and waiting, and
    ops get a warning naming the refund."""
    import logging

    from nibog.core import boundary
    from nibog.payments.gateways.base import GatewayError
    from nibog.payments.refunds import process_refund

    logger = logging.getLogger("nibog.payments.refunds")
    monkeypatch.setattr(logger, "disabled", False)  # see the cancellation's log test above
    _, (refund_id,) = _reserved_refunds(parent, 1000)
    _gateway_refunds(monkeypatch, {1000: GatewayError("timed out", transient=True)})
    with caplog.at_level(logging.WARNING, logger=logger.name), \
            pytest.raises(GatewayError):
        boundary.run_unit(process_refund, refund_id)
    assert _refund_row(refund_id) == ("pending", None)
    [warning] = [r for r in caplog.records if r.name == logger.name]
    assert (warning.getMessage(), warning.refund_id) == (
        "refund gateway call failed; will retry", refund_id)


def test_the_refund_job_sends_to_the_gateway_the_payment_was_made_with(app, parent, monkeypatch):
    """After a switch of gateway, a refund of an older payment goes where the money came from."""
    from nibog.core import boundary
    from nibog.payments.refunds import process_refund

    _, (refund_id,) = _reserved_refunds(parent, 1000)
    calls = _gateway_calls(monkeypatch, "refund")
    monkeypatch.setitem(app.config, "PAYMENT_PROVIDER", "razorpay")
    assert boundary.run_unit(process_refund, refund_id) == "processed"
    assert len(calls) == 1

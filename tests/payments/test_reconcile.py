"""Stuck payments (``created`` past STUCK_PAYMENT_MINUTES) settled by the periodic sweep."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from nibog.booking.models import Booking
from nibog.core import boundary
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.payments.models import Payment
from nibog.payments.tasks import reconcile_stuck_payments
from nibog.tasks import PERIODIC_JOBS
from tests.payments.support import (
    make_booking,
    messages,
    open_payment,
    reload,
    sandbox,
    transitions,
)


def _age(payment_id: int, minutes: int) -> None:
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment_id)
        .values(created_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def test_the_sweep_is_scheduled():
    assert "nibog.payments.tasks.reconcile_stuck_payments" in {job.path for job in PERIODIC_JOBS}


def test_a_paid_order_whose_callback_was_lost_is_captured(client, app, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    sandbox(app).simulate_payment(order["provider_order_id"])  # paid; nobody told us

    assert reconcile_stuck_payments() == {}  # too fresh to be stuck
    assert reload(Payment, order["payment_id"]).status == "created"

    _age(order["payment_id"], app.config["STUCK_PAYMENT_MINUTES"] + 1)
    assert reconcile_stuck_payments() == {"captured": 1}
    payment = reload(Payment, order["payment_id"])
    assert payment.status == "captured"
    assert payment.last_checked_at is not None
    assert [c.source for c in transitions(payment.id, "captured")] == ["reconcile"]
    assert reload(Booking, booking.id).status == "confirmed"
    assert messages("booking_confirmed", booking.id) == 1
    assert reconcile_stuck_payments() == {}  # nothing open any more


def test_an_unpaid_order_stays_open_while_the_hold_lasts_then_closes(client, app, parent):
    from nibog.booking.service import expire_holds

    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    _age(order["payment_id"], app.config["STUCK_PAYMENT_MINUTES"] + 1)
    assert reconcile_stuck_payments() == {"pending": 1}
    assert reload(Payment, order["payment_id"]).status == "created"

    expire_holds(now=utcnow() + timedelta(hours=1))
    boundary.commit()
    # Checked a moment ago: the sweep leaves it alone until the re-check interval passes.
    assert reconcile_stuck_payments() == {}
    db.session.execute(
        update(Payment)
        .where(Payment.id == order["payment_id"])
        .values(last_checked_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert reconcile_stuck_payments() == {"failed": 1}
    payment = reload(Payment, order["payment_id"])
    assert payment.status == "failed"
    assert payment.failure_reason.startswith("abandoned")


def test_a_declined_order_is_marked_failed(client, app, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    sandbox(app).simulate_payment(order["provider_order_id"], outcome="failed")
    _age(order["payment_id"], app.config["STUCK_PAYMENT_MINUTES"] + 1)
    assert reconcile_stuck_payments() == {"failed": 1}
    assert reload(Payment, order["payment_id"]).status == "failed"
    assert reload(Booking, booking.id).status == "pending_payment"


def test_cli_runs_the_sweep(client, app, parent, runner):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    sandbox(app).simulate_payment(order["provider_order_id"])
    _age(order["payment_id"], app.config["STUCK_PAYMENT_MINUTES"] + 1)
    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "captured=1" in result.output
    assert reload(Booking, booking.id).status == "confirmed"

"""The callback-versus-poll race, with real parallel requests on separate connections.

The client's confirm, the gateway's webhook and the status poll (reconciliation) all report the
same capture at the same moment. Exactly one capture, one booking confirmation and one
confirmation message may result. The control switches the row locks off (``locking.guards``) and
shows the race is real: then every path records its own capture.
"""

from __future__ import annotations

import threading

import pytest

from nibog.booking.models import Booking
from nibog.core import boundary, locking
from nibog.extensions import db
from nibog.payments import service, statements
from nibog.payments.models import Payment, WebhookEvent
from tests.concurrency.race import join_all, pause_at, without_database_rule
from tests.helpers import auth_headers
from tests.payments.support import (
    make_booking,
    messages,
    open_payment,
    reload,
    sandbox,
    transitions,
    webhook_for,
)

# Commit mode (docs/testing.md, "Isolation"): races between threads, each on its own connection.
pytestmark = pytest.mark.commits

ROUNDS = 4


def _race(app, parent, order, paid):
    body, headers = webhook_for(app, "payment.captured", paid["payment"])
    confirm_body = {
        "payment_id": order["payment_id"],
        "provider_payment_id": paid["payment"]["id"],
        "signature": paid["signature"],
    }
    confirm_headers = auth_headers(parent)
    barrier = threading.Barrier(3, timeout=30)
    results: dict[str, object] = {}

    def client_confirm():
        client = app.test_client()
        barrier.wait()
        results["confirm"] = client.post(
            "/api/payments/confirm", json=confirm_body, headers=confirm_headers
        ).status_code

    def gateway_webhook():
        client = app.test_client()
        barrier.wait()
        results["webhook"] = client.post(
            "/webhooks/payment/success", data=body, headers=headers
        ).status_code

    def status_poll():
        with app.app_context():
            barrier.wait()
            try:
                results["poll"] = service.reconcile_payment(order["payment_id"])
                boundary.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                boundary.rollback()
                results["poll"] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=f, daemon=True)
               for f in (client_confirm, gateway_webhook, status_poll)]
    for t in threads:
        t.start()
    join_all(threads, 60)
    return results


def _paid_order(client, app, parent):
    booking = make_booking(parent)
    order = open_payment(client, parent, booking)
    paid = sandbox(app).simulate_payment(order["provider_order_id"])
    return booking, order, paid


def test_confirm_webhook_and_poll_together_capture_once(client, app, parent):
    for _ in range(ROUNDS):
        booking, order, paid = _paid_order(client, app, parent)
        results = _race(app, parent, order, paid)

        assert results["confirm"] == 200
        assert results["webhook"] == 200
        assert results["poll"] in ("captured", "not_open", "already_captured")
        assert len(transitions(order["payment_id"], "captured")) == 1
        assert reload(Payment, order["payment_id"]).status == "captured"
        assert reload(Booking, booking.id).status == "confirmed"
        assert messages("booking_confirmed", booking.id) == 1


@pytest.fixture
def locks_switched_off(monkeypatch):
    """Control: the booking and payment row locks off (``locking.guards``), all three paths
    meeting after their first read of the payment."""
    monkeypatch.setattr(locking.guards, "booking_lock", False)
    monkeypatch.setattr(locking.guards, "payment_lock", False)
    monkeypatch.setattr(locking.guards, "pause", pause_at("payment_read", 3))


def test_control_without_locks_the_race_double_captures(client, app, parent, locks_switched_off):
    booking, order, paid = _paid_order(client, app, parent)
    results = _race(app, parent, order, paid)
    assert results["confirm"] == 200 and results["webhook"] == 200
    # Confirm and webhook both saw "created" and each recorded its own capture (the poll reads
    # again later and may or may not): the row locks are what prevent it.
    assert len(transitions(order["payment_id"], "captured")) >= 2


def _in_parallel(app, calls: dict) -> dict:
    barrier = threading.Barrier(len(calls), timeout=30)
    out: dict = {}

    def run(name, fn):
        local = app.test_client()
        barrier.wait()
        resp = fn(local)
        out[name] = (resp.status_code, resp.get_json())

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in calls.items()]
    for t in threads:
        t.start()
    join_all(threads, 60)
    return out


def _same_webhook_twice(client, app, parent):
    booking, order, paid = _paid_order(client, app, parent)
    body, headers = webhook_for(app, "payment.captured", paid["payment"])

    def deliver(c):
        return c.post("/webhooks/payment/success", data=body, headers=headers)

    out = _in_parallel(app, {"first": deliver, "second": deliver})
    assert sorted(status for status, _ in out.values()) == [200, 200]
    return booking, order, sorted(body["status"] for _, body in out.values())


def test_the_same_webhook_delivered_twice_at_once_applies_once(client, app, parent):
    booking, order, outcomes = _same_webhook_twice(client, app, parent)
    assert outcomes == ["duplicate", "processed"]
    assert len(transitions(order["payment_id"], "captured")) == 1
    assert messages("booking_confirmed", booking.id) == 1


def test_control_without_the_event_id_rule_the_webhook_is_processed_twice(client, app, parent):
    """The unique (provider, event id) is the de-duplication: dropped, the second delivery no
    longer waits for the first's row and is applied again. (The payment lock still keeps the
    capture single; the webhook's own guard is what this control removes.) Which delivery gets
    where first does not matter: without the rule neither is ever told duplicate."""
    with without_database_rule(
        "ALTER TABLE webhook_events DROP CONSTRAINT uq_webhook_events_provider_event_id",
        "ALTER TABLE webhook_events ADD CONSTRAINT uq_webhook_events_provider_event_id"
        " UNIQUE (provider, event_id)",
        before_restore="DELETE FROM webhook_events",
    ):
        _, order, outcomes = _same_webhook_twice(client, app, parent)
        assert outcomes == ["processed", "processed"]
        assert db.session.query(WebhookEvent).count() == 2


def test_parallel_refunds_never_exceed_the_captured_amount(client, app, parent):
    from tests.factories import UserFactory

    _, order, paid = _paid_order(client, app, parent)
    client.post(
        "/webhooks/payment/success",
        data=webhook_for(app, "payment.captured", paid["payment"])[0],
        headers=webhook_for(app, "payment.captured", paid["payment"])[1],
    )
    assert reload(Payment, order["payment_id"]).status == "captured"
    admins = [auth_headers(UserFactory(role="admin")) for _ in range(3)]
    amount = reload(Payment, order["payment_id"]).amount // 2 + 1  # two of these do not fit

    def refund_with(headers):
        return lambda c: c.post(
            "/api/payments/refund",
            headers=headers,
            json={"payment_id": order["payment_id"], "amount": amount, "reason": "race"},
        )

    out = _in_parallel(app, {i: refund_with(h) for i, h in enumerate(admins)})
    assert sorted(status for status, _ in out.values()) == [201, 422, 422]
    payment = reload(Payment, order["payment_id"])
    assert (payment.amount_refunded, payment.status) == (amount, "partially_refunded")


def _parallel_creates(parent):
    booking_id = make_booking(parent).id  # read here: threads have no session of their own
    headers = auth_headers(parent)
    db.session.commit()
    first_read = threading.Barrier(3, timeout=30)
    real = statements.payable

    def open_payment_after_all_read(booking_id):
        # Every request reads the booking and its open order (one statement) before any has
        # written one; the loser's later lookup of the winner goes straight through.
        found = real(booking_id)
        seen = getattr(_reads, "n", 0)
        _reads.n = seen + 1
        if seen == 0:
            first_read.wait()
        return found

    def create(c):
        return c.post("/api/payments/create", json={"booking_id": booking_id}, headers=headers)

    return booking_id, open_payment_after_all_read, create


_reads = threading.local()


def _refund_during_refund(client, app, parent, amount_of):
    from nibog.payments.refunds import refund_payment
    from tests.concurrency.race import interleave

    _, order, paid = _paid_order(client, app, parent)
    body, headers = webhook_for(app, "payment.captured", paid["payment"])
    client.post("/webhooks/payment/success", data=body, headers=headers)
    payment_id = order["payment_id"]
    amount = amount_of(reload(Payment, payment_id).amount)
    db.session.commit()

    def refund(_):
        return refund_payment(payment_id, amount, reason="race", actor_id=None).amount

    results = interleave(app, refund, refund, "payment_read")
    return results, amount, reload(Payment, payment_id)


def test_a_refund_during_another_sees_what_is_left(client, app, parent):
    results, amount, payment = _refund_during_refund(client, app, parent, lambda a: a // 2 + 1)
    assert results == [("ok", amount), ("error", "refund_exceeds_captured")]
    assert (payment.amount_refunded, payment.status) == (amount, "partially_refunded")
    assert refunded(payment.id) == [amount]


def test_control_without_the_locks_two_refunds_exceed_the_capture(client, app, parent, monkeypatch):
    """A refund takes the booking's lock, then the payment's: either alone serialises two
    refunds, so this control switches both off."""
    monkeypatch.setattr(locking.guards, "booking_lock", False)
    monkeypatch.setattr(locking.guards, "payment_lock", False)
    results, amount, payment = _refund_during_refund(client, app, parent, lambda a: a // 2 + 1)
    # Both refunds checked what was left before either wrote: more than the capture is
    # being paid back.
    assert results == [("ok", amount), ("ok", amount)]
    assert sum(refunded(payment.id)) == 2 * amount > payment.amount


def refunded(payment_id):
    from nibog.payments.models import Refund

    db.session.expire_all()
    return [r.amount for r in db.session.query(Refund).filter_by(payment_id=payment_id)]


def test_parallel_creates_open_one_order(client, app, parent, monkeypatch):
    booking_id, hook, create = _parallel_creates(parent)
    monkeypatch.setattr(statements, "payable", hook)
    out = _in_parallel(app, {i: create for i in range(3)})
    assert [status for status, _ in out.values()] == [201, 201, 201]
    assert len({body["payment_id"] for _, body in out.values()}) == 1
    assert db.session.query(Payment).filter_by(booking_id=booking_id).count() == 1


def test_a_create_that_loses_the_race_answers_with_this_bookings_open_order(
        client, app, parent, monkeypatch):
    """The losers of a parallel create look the winner's order up: this booking's open one,
    not another booking's open order nor this booking's earlier failed one (both older)."""
    from sqlalchemy import update

    from tests.factories import UserFactory
    from tests.payments.support import payments_of

    other_parent = UserFactory()
    open_payment(client, other_parent, make_booking(other_parent))
    booking_id, hook, create = _parallel_creates(parent)
    failed = open_payment(client, parent, db.session.get(Booking, booking_id))
    db.session.execute(update(Payment).where(Payment.id == failed["payment_id"])
                       .values(status="failed"))
    db.session.commit()
    monkeypatch.setattr(statements, "payable", hook)
    out = _in_parallel(app, {i: create for i in range(3)})
    assert [status for status, _ in out.values()] == [201, 201, 201]
    [new] = [p.id for p in payments_of(booking_id) if p.status == "created"]
    assert {body["payment_id"] for _, body in out.values()} == {new}


def test_control_without_the_open_order_rule_parallel_creates_open_three(
        client, app, parent, monkeypatch):
    booking_id, hook, create = _parallel_creates(parent)
    monkeypatch.setattr(statements, "payable", hook)
    with without_database_rule(
        "DROP INDEX uq_payments_open_per_booking",
        "CREATE UNIQUE INDEX uq_payments_open_per_booking ON payments (booking_id)"
        " WHERE status = 'created'",
        before_restore="UPDATE payments SET status = 'failed'",
    ):
        out = _in_parallel(app, {i: create for i in range(3)})
        assert [status for status, _ in out.values()] == [201, 201, 201]
        assert len({body["payment_id"] for _, body in out.values()}) == 3
        assert db.session.query(Payment).filter_by(booking_id=booking_id).count() == 3

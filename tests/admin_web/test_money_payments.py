"""Money pages: payments list and detail, refunds, reconciliation flags."""

from __future__ import annotations

from flask import g
from sqlalchemy import func, select

from nibog.core.audit import AuditLog
from nibog.extensions import db
from nibog.payments.history import flag
from nibog.payments.models import Payment, PaymentFlag, PaymentStatusChange, Refund
from tests.booking.world import make_world
from tests.factories import make_booking, pay
from tests.helpers import html


def _paid(price=50000, **kw):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])], price=price, **kw)
    return booking, pay(booking)


def _flagged(payment, kind="amount_mismatch", note="amount_mismatch: gateway 100 INR"):
    payment = db.session.get(Payment, payment.id)
    row = flag(payment, "webhook", note, kind=kind)
    db.session.commit()
    return row


def test_payments_list_filters_by_status_search_and_open_flags(admin_client):
    first, paid = _paid()
    second, other = _paid()
    _flagged(other)
    body = html(admin_client.get(f"/admin/payments?q={first.booking_number}"))
    assert f"/admin/payments/{paid.id}" in body and f"/admin/payments/{other.id}" not in body
    body = html(admin_client.get("/admin/payments?flagged=1"))
    assert f"/admin/payments/{other.id}" in body and f"/admin/payments/{paid.id}\"" not in body
    body = html(admin_client.get("/admin/payments?status=refunded"))
    assert "No payment matches these filters." in body


def test_payment_page_shows_the_gateway_history(admin_client):
    booking, payment = _paid()
    db.session.add(PaymentStatusChange(payment_id=payment.id, from_status="created",
                                       to_status="captured", source="webhook",
                                       note="payment pay_123"))
    db.session.commit()
    body = html(admin_client.get(f"/admin/payments/{payment.id}"))
    assert "Gateway history" in body and "pay_123" in body
    assert booking.booking_number in body


def test_partial_then_full_refund_never_above_what_was_paid(admin_client, admin_user):
    _, payment = _paid(price=50000)
    resp = admin_client.post(f"/admin/payments/{payment.id}/refund",
                             data={"how_much": "part", "amount": "100.50", "reason": "goodwill"})
    assert resp.status_code == 302
    resp = admin_client.post(f"/admin/payments/{payment.id}/refund",
                             data={"how_much": "part", "amount": "10000", "reason": "too much"})
    assert resp.status_code == 422
    body = html(resp)
    assert 'aria-invalid="true"' in body and 'value="10000"' in body
    resp = admin_client.post(f"/admin/payments/{payment.id}/refund",
                             data={"how_much": "full", "reason": "event moved"})
    assert resp.status_code == 302
    db.session.expire_all()
    amounts = sorted(db.session.scalars(select(Refund.amount)))
    assert amounts == [10050, 39950]
    assert db.session.get(Payment, payment.id).amount_refunded == 50000
    actors = db.session.scalars(select(AuditLog.actor_id).where(AuditLog.action == "payment.refund"))
    assert list(actors) == [admin_user.id, admin_user.id]


def test_refund_form_errors(admin_client):
    _, payment = _paid()
    resp = admin_client.post(f"/admin/payments/{payment.id}/refund",
                             data={"how_much": "part", "amount": "12,34.5x", "reason": ""})
    assert resp.status_code == 422
    body = html(resp)
    assert "Not a valid decimal value" in body and "Say why the money goes back" in body
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0


def test_staff_see_payments_but_cannot_refund(staff_client):
    _, payment = _paid()
    assert staff_client.get(f"/admin/payments/{payment.id}").status_code == 200
    resp = staff_client.post(f"/admin/payments/{payment.id}/refund",
                             data={"how_much": "full", "reason": "x"})
    assert resp.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0


def test_a_flag_is_listed_until_an_admin_resolves_it_with_a_note(admin_client, staff_client,
                                                                 admin_user):
    _, payment = _paid()
    row = _flagged(payment)
    body = html(staff_client.get("/admin/payments/flags"))
    assert "Amount mismatch" in body and "amount_mismatch: gateway 100 INR" in body
    assert staff_client.post(f"/admin/payments/flags/{row.id}/resolve",
                             data={"resolution": "x"}).status_code == 403
    g.pop("_login_user", None)
    resp = admin_client.post(f"/admin/payments/flags/{row.id}/resolve", data={"resolution": ""})
    assert resp.status_code == 422 and "Say what was done about it" in html(resp)
    resp = admin_client.post(f"/admin/payments/flags/{row.id}/resolve",
                             data={"resolution": "gateway confirmed the right amount"})
    assert resp.status_code == 302
    db.session.expire_all()
    row = db.session.get(PaymentFlag, row.id)
    assert row.resolved_by_id == admin_user.id and row.resolution.startswith("gateway")
    assert "No flag here." in html(admin_client.get("/admin/payments/flags"))
    assert "gateway confirmed" in html(admin_client.get("/admin/payments/flags?state=resolved"))
    resp = admin_client.post(f"/admin/payments/flags/{row.id}/resolve", data={"resolution": "again"})
    assert resp.status_code == 409


def test_a_late_payment_is_flagged_for_support(app, client):
    # The capture path: the seats went while the parent paid; money back, and a flag to review.
    from nibog.payments.gateways.base import PaymentInfo
    from nibog.payments.service import apply_capture

    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])],
                           status="cancelled")
    payment = Payment(booking_id=booking.id, provider="sandbox", provider_order_id="order_late1",
                      amount=booking.total, status="created")
    db.session.add(payment)
    db.session.commit()
    apply_capture(payment.id, PaymentInfo(status="captured", amount=booking.total, currency="INR",
                                          provider_payment_id="pay_late1", method="upi"),
                  source="webhook")
    db.session.commit()
    kinds = list(db.session.scalars(select(PaymentFlag.kind)))
    assert kinds == ["late_payment"]

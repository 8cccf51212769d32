"""Sales pages: the bookings list and search, a booking's page, and the desk's actions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from nibog.booking.models import Booking, BookingItem
from nibog.catalog.models import GameSlot
from nibog.core.audit import AuditLog
from nibog.core.timeutil import today_ist
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.payments.models import Refund
from tests.booking.world import make_world
from tests.factories import ChildFactory, UserFactory, make_booking, pay
from tests.helpers import html, reload


def audits(action: str) -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


# ---------------------------------------------------------------- list and search


def test_bookings_list_searches_by_number_email_phone_and_child(admin_client):
    world = make_world()
    other_parent = UserFactory(email="meera@example.com", phone="+919812345678")
    kid = ChildFactory(parent=other_parent, full_name="Ishaan Rao")
    first = make_booking(world.parent, [(world.children[0], world.slots[0])])
    second = make_booking(other_parent, [(kid, world.slots[1])])

    def numbers(query: str) -> set[str]:
        body = html(admin_client.get("/admin/bookings", query_string={"q": query}))
        return {n for n in (first.booking_number, second.booking_number) if n in body}

    assert numbers(first.booking_number) == {first.booking_number}
    assert numbers(first.booking_number.lower()) == {first.booking_number}
    assert numbers("meera@") == {second.booking_number}
    assert numbers("98123 45678") == {second.booking_number}
    assert numbers("ishaan") == {second.booking_number}
    assert numbers("nobody-like-this") == set()


def test_bookings_list_filters_by_status_event_and_date_from_the_url(admin_client):
    near = make_world(days_ahead=3)
    far = make_world(days_ahead=60)
    a = make_booking(near.parent, [(near.children[0], near.slots[0])])
    b = make_booking(far.parent, [(far.children[0], far.slots[0])], status="cancelled")

    body = html(admin_client.get("/admin/bookings?status=cancelled"))
    assert b.booking_number in body and a.booking_number not in body
    body = html(admin_client.get(f"/admin/bookings?event_id={near.event.id}"))
    assert a.booking_number in body and b.booking_number not in body
    until = (today_ist() + timedelta(days=10)).isoformat()
    body = html(admin_client.get(f"/admin/bookings?date_to={until}"))
    assert a.booking_number in body and b.booking_number not in body
    # The filter stays in the form (shareable, and kept when sorting).
    assert f'value="{until}"' in body
    assert "date_to=" + until in body  # sort links keep the filter


def test_bookings_list_sorts_and_pages(admin_client):
    world = make_world(capacity=40)
    made = [make_booking(world.parent, [(world.children[0], world.slots[0])], price=100 * (i + 1),
                         status="cancelled") for i in range(30)]
    page1 = html(admin_client.get("/admin/bookings?sort=total&dir=desc"))
    assert page1.index(made[29].booking_number) < page1.index(made[28].booking_number)
    assert made[0].booking_number not in page1  # 25 per page
    page2 = html(admin_client.get("/admin/bookings?sort=total&dir=desc&page=2"))
    assert made[0].booking_number in page2
    assert "30 results" in page1


def test_booking_page_shows_items_payments_messages_and_history(admin_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])])
    payment = pay(booking, refunded=5000)
    db.session.add(NotificationLog(channel="email", template="booking_confirmed",
                                   recipient=world.parent.email, booking_id=booking.id,
                                   status="sent"))
    db.session.commit()
    body = html(admin_client.get(f"/admin/bookings/{booking.id}"))
    assert world.children[0].full_name in body
    assert f"/admin/payments/{payment.id}" in body
    assert "booking_confirmed" in body
    assert "History" in body and "Made" in body


def test_missing_booking_is_a_404_page(admin_client):
    assert admin_client.get("/admin/bookings/999999").status_code == 404


# ---------------------------------------------------------------- move


def test_move_a_child_to_another_slot_and_the_full_slot_refusal(staff_client, staff_user):
    world = make_world(capacity=1)
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])])
    item_id = db.session.scalar(select(BookingItem.id).where(BookingItem.booking_id == booking.id))
    # The other slot is full: refused at the field, nothing moves.
    blocker = make_booking(UserFactory(), [(ChildFactory(), world.slots[1])])
    resp = staff_client.post(f"/admin/bookings/{booking.id}/move",
                             data={"item_id": item_id, "slot_id": world.slots[1].id})
    assert resp.status_code == 409
    assert "no seats left" in html(resp)
    assert reload(BookingItem, item_id).slot_id == world.slots[0].id

    db.session.delete(db.session.get(BookingItem, db.session.scalar(
        select(BookingItem.id).where(BookingItem.booking_id == blocker.id))))
    db.session.get(GameSlot, world.slots[1].id).booked_count = 0
    db.session.commit()
    resp = staff_client.post(f"/admin/bookings/{booking.id}/move",
                             data={"item_id": item_id, "slot_id": world.slots[1].id})
    assert resp.status_code == 302
    assert reload(BookingItem, item_id).slot_id == world.slots[1].id
    assert reload(GameSlot, world.slots[0].id).booked_count == 0
    assert reload(GameSlot, world.slots[1].id).booked_count == 1
    [row] = audits("booking.move_item")
    assert row.actor_id == staff_user.id and row.before["slot_id"] == world.slots[0].id


# ---------------------------------------------------------------- cancel


def test_cancel_with_the_policys_refund(admin_client, admin_user):
    world = make_world(days_ahead=30)
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])], price=50000)
    pay(booking)
    resp = admin_client.post(f"/admin/bookings/{booking.id}/cancel",
                             data={"reason": "parent called", "refund": "policy"})
    assert resp.status_code == 302
    assert reload(Booking, booking.id).status == "cancelled"
    assert db.session.scalar(select(func.sum(Refund.amount))) == 50000
    assert reload(GameSlot, world.slots[0].id).booked_count == 0
    [row] = audits("booking.admin_cancel")
    assert row.after["refund"] == 50000 and row.after["reason"] == "parent called"


def test_cancel_late_refunds_nothing_by_policy_but_an_admin_may_override(admin_client):
    world = make_world(days_ahead=1)  # inside the 48-hour window: the policy refunds nothing
    first = make_booking(world.parent, [(world.children[0], world.slots[0])], price=50000)
    pay(first)
    second = make_booking(world.parent, [(world.children[1], world.slots[0])], price=50000)
    pay(second)
    admin_client.post(f"/admin/bookings/{first.id}/cancel",
                      data={"reason": "late", "refund": "policy"})
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
    resp = admin_client.post(f"/admin/bookings/{second.id}/cancel",
                             data={"reason": "child ill", "refund": "override", "amount": "250"})
    assert resp.status_code == 302
    assert db.session.scalar(select(func.sum(Refund.amount))) == 25000


def test_override_above_the_price_is_refused_at_the_field(admin_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])], price=50000)
    pay(booking)
    resp = admin_client.post(f"/admin/bookings/{booking.id}/cancel",
                             data={"reason": "x", "refund": "override", "amount": "501"})
    assert resp.status_code == 422
    body = html(resp)
    assert 'aria-invalid="true"' in body and "At most ₹500 can be refunded" in body
    assert 'value="501"' in body  # the value typed is kept
    assert reload(Booking, booking.id).status == "confirmed"


def test_staff_may_cancel_by_the_policy_but_not_choose_the_amount(staff_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])], price=50000)
    pay(booking)
    resp = staff_client.post(f"/admin/bookings/{booking.id}/cancel",
                             data={"reason": "x", "refund": "override", "amount": "100"})
    assert resp.status_code == 403
    assert reload(Booking, booking.id).status == "confirmed"
    resp = staff_client.post(f"/admin/bookings/{booking.id}/cancel",
                             data={"reason": "x", "refund": "policy"})
    assert resp.status_code == 302
    assert reload(Booking, booking.id).status == "cancelled"


def test_cancel_needs_a_reason(admin_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])])
    resp = admin_client.post(f"/admin/bookings/{booking.id}/cancel", data={"refund": "policy"})
    assert resp.status_code == 422
    assert "Say why the booking is cancelled" in html(resp)
    assert reload(Booking, booking.id).status == "confirmed"


# ---------------------------------------------------------------- resend, mark paid


def test_resend_ticket_queues_the_confirmation_again(staff_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])])
    resp = staff_client.post(f"/admin/bookings/{booking.id}/resend-ticket",
                             data={"channels": ["email", "sms"]})
    assert resp.status_code == 302
    db.session.expire_all()
    sent = db.session.execute(select(NotificationLog.channel, NotificationLog.recipient).where(
        NotificationLog.booking_id == booking.id, NotificationLog.template == "booking_confirmed")
    ).all()
    assert sorted(sent) == [("email", world.parent.email), ("sms", world.parent.phone)]
    assert audits("booking.resend_ticket")


def test_no_ticket_for_an_unpaid_booking(staff_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])],
                           status="pending_payment")
    resp = staff_client.post(f"/admin/bookings/{booking.id}/resend-ticket",
                             data={"channels": ["email"]})
    assert resp.status_code == 409
    assert "Only a confirmed or completed booking has a ticket" in html(resp)


def test_mark_a_held_booking_paid_in_cash(staff_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])],
                           status="pending_payment")
    resp = staff_client.post(f"/admin/bookings/{booking.id}/mark-paid")
    assert resp.status_code == 302
    booking = reload(Booking, booking.id)
    assert booking.status == "confirmed" and booking.payment_mode == "cash"
    assert audits("booking.admin_confirm")

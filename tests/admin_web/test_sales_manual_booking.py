"""Manual bookings at the desk or on the phone: through the booking engine, capacity included."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from nibog.accounts.models import Child
from nibog.booking.models import Booking
from nibog.catalog.models import GameSlot
from nibog.core.audit import AuditLog
from nibog.core.timeutil import as_utc, utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from tests.booking.world import make_world
from tests.factories import birth_date_for_age
from tests.helpers import html


def bookings() -> list[Booking]:
    db.session.expire_all()
    return list(db.session.scalars(select(Booking).order_by(Booking.id)))


def messages(booking_id: int) -> list[tuple[str, str, str]]:
    db.session.expire_all()
    return sorted(db.session.execute(
        select(NotificationLog.channel, NotificationLog.template, NotificationLog.status)
        .where(NotificationLog.booking_id == booking_id)).all())


def test_the_form_shows_the_events_slots_and_the_parents_children(staff_client):
    world = make_world()
    resp = staff_client.get(f"/admin/bookings/new?event_id={world.event.id}"
                            f"&parent={world.parent.email}")
    body = html(resp)
    assert resp.status_code == 200
    assert world.children[0].full_name in body and world.children[1].full_name in body
    assert "10 seats free" in body


def test_cash_booking_for_an_account_is_confirmed_at_once(staff_client, staff_user):
    world = make_world()
    resp = staff_client.post(
        f"/admin/bookings/new?event_id={world.event.id}",
        data={"event_id": world.event.id, "user_id": world.parent.id,
              "child": str(world.children[0].id), "slot_ids": [world.slots[0].id],
              "payment": "cash"},
    )
    assert resp.status_code == 302, html(resp)
    [booking] = bookings()
    assert (booking.status, booking.payment_mode, booking.source) == ("confirmed", "cash", "admin")
    assert booking.created_by_id == staff_user.id
    assert resp.headers["Location"].endswith(f"/admin/bookings/{booking.id}")
    assert db.session.get(GameSlot, world.slots[0].id).booked_count == 1
    assert ("email", "booking_confirmed", "sent") in messages(booking.id)
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "booking.admin_create"))
    assert audit.actor_id == staff_user.id and audit.after["payment"] == "cash"


def test_walk_in_with_a_payment_link_by_email_and_sms(admin_client, app):
    world = make_world()
    dob = birth_date_for_age(30, world.event.event_date)
    resp = admin_client.post(
        f"/admin/bookings/new?event_id={world.event.id}",
        data={"event_id": world.event.id, "guest_name": "Kavya Iyer",
              "guest_email": "Kavya@Example.com", "guest_phone": "98765 00001",
              "child_name": "Anu", "child_dob": dob.isoformat(),
              "slot_ids": [world.slots[0].id, world.slots[1].id], "payment": "link",
              "send_by": ["email", "sms"]},
    )
    assert resp.status_code == 302, html(resp)
    [booking] = bookings()
    assert booking.status == "pending_payment" and booking.user_id is None
    assert booking.guest_email == "kavya@example.com" and booking.guest_phone == "+919876500001"
    # The parent is not at a checkout: the hold lasts PAYMENT_LINK_HOLD_SECONDS, not 15 minutes.
    left = as_utc(booking.hold_expires_at) - utcnow()
    assert left > timedelta(seconds=app.config["PAYMENT_LINK_HOLD_SECONDS"] - 60)
    sent = messages(booking.id)
    assert ("email", "booking_held", "sent") in sent and ("sms", "booking_held", "sent") in sent
    # The engine's own "complete your payment" mail was replaced, not sent twice.
    assert ("email", "booking_held", "suppressed") in sent
    assert sum(1 for m in sent if m[2] == "sent") == 2
    # The walk-in's access code is shown to staff once.
    follow = admin_client.get(resp.headers["Location"])
    assert "Walk-in access code" in html(follow)


def test_manual_booking_respects_capacity(admin_client):
    world = make_world(capacity=1, n_children=2)

    def book(child):
        return admin_client.post(
            f"/admin/bookings/new?event_id={world.event.id}",
            data={"event_id": world.event.id, "user_id": world.parent.id,
                  "child": str(child.id), "slot_ids": [world.slots[0].id], "payment": "cash"},
        )

    assert book(world.children[0]).status_code == 302
    refused = book(world.children[1])
    assert refused.status_code == 409
    body = html(refused)
    assert "That slot has no seats left." in body and 'id="slots-error"' in body
    assert len(bookings()) == 1
    assert db.session.get(GameSlot, world.slots[0].id).booked_count == 1


def test_a_full_slot_stays_full_for_a_walk_in_too(admin_client):
    world = make_world(capacity=1)
    db.session.get(GameSlot, world.slots[0].id).booked_count = 1
    db.session.commit()
    dob = birth_date_for_age(30, world.event.event_date)
    resp = admin_client.post(
        f"/admin/bookings/new?event_id={world.event.id}",
        data={"event_id": world.event.id, "guest_name": "Ravi", "guest_email": "ravi@example.com",
              "child_name": "Kiran", "child_dob": dob.isoformat(),
              "slot_ids": [world.slots[0].id], "payment": "cash"},
    )
    assert resp.status_code == 409
    assert bookings() == []
    # Nothing half-made survives the refusal: no placeholder child either.
    assert db.session.scalar(select(func.count()).select_from(Child).where(
        Child.full_name == "Kiran")) == 0


def test_validation_errors_are_shown_at_their_fields_with_the_values_kept(admin_client):
    world = make_world()
    resp = admin_client.post(
        f"/admin/bookings/new?event_id={world.event.id}",
        data={"event_id": world.event.id, "guest_name": "", "guest_email": "not-an-email",
              "child_name": "Meena", "child_dob": "", "payment": "link", "send_by": []},
    )
    assert resp.status_code == 422
    body = html(resp)
    assert "Choose at least one game slot" in body
    assert "Enter the parent&#39;s name" in body or "Enter the parent's name" in body
    assert "Enter the child&#39;s date of birth" in body or "Enter the child's date of birth" in body
    assert 'value="Meena"' in body and 'value="not-an-email"' in body
    assert bookings() == []


def test_a_child_too_old_for_the_game_is_refused_at_the_slots(admin_client):
    world = make_world()
    dob = birth_date_for_age(70, world.event.event_date)  # the world's game is 12-48 months
    resp = admin_client.post(
        f"/admin/bookings/new?event_id={world.event.id}",
        data={"event_id": world.event.id, "user_id": world.parent.id, "child": "new",
              "child_name": "Big Brother", "child_dob": dob.isoformat(),
              "slot_ids": [world.slots[0].id], "payment": "cash"},
    )
    assert resp.status_code == 422
    assert "outside the game" in html(resp)
    assert bookings() == []


def test_a_link_needs_a_channel(admin_client):
    world = make_world()
    resp = admin_client.post(
        f"/admin/bookings/new?event_id={world.event.id}",
        data={"event_id": world.event.id, "user_id": world.parent.id,
              "child": str(world.children[0].id), "slot_ids": [world.slots[0].id],
              "payment": "link"},
    )
    assert resp.status_code == 422
    assert "Choose how the payment link is sent" in html(resp)


def test_the_walk_ins_payment_link_opens_their_pay_page(admin_client, app):
    import re

    from nibog.core.models import OutboxJob

    world = make_world()
    dob = birth_date_for_age(30, world.event.event_date)
    admin_client.post(
        f"/admin/bookings/new?event_id={world.event.id}",
        data={"event_id": world.event.id, "guest_name": "Kavya", "guest_email": "kavya@example.com",
              "child_name": "Anu", "child_dob": dob.isoformat(), "slot_ids": [world.slots[0].id],
              "payment": "link", "send_by": ["email"]},
    )
    [booking] = bookings()
    flashed = html(admin_client.get(f"/admin/bookings/{booking.id}"))
    code = re.search(r"access code: ([A-Z0-9]+)", flashed).group(1)
    # Once sent, the stored message keeps neither the code nor the link that carries it.
    kept = [row.args[1] for row in db.session.scalars(select(OutboxJob)) if
            row.func.endswith("deliver") and row.args[1].get("booking_id") == booking.id]
    assert kept and all(k.get("pay_url") in (None, "[sent]") for k in kept)
    parent = app.test_client()
    resp = parent.get(f"/book/{booking.id}/pay?code={code}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/book/{booking.id}/pay")
    assert parent.get(f"/book/{booking.id}/pay").status_code == 200
    stranger = app.test_client()
    stranger.get(f"/book/{booking.id}/pay?code=WRONGCODE1")
    assert stranger.get(f"/book/{booking.id}/pay").status_code == 404

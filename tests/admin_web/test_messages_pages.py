"""Waiting lists, content, contact messages, the notification log and failed jobs."""

from __future__ import annotations

from flask import g
from sqlalchemy import func, select

from nibog.booking.models import Booking, WaitingListEntry
from nibog.catalog.models import GameSlot
from nibog.content import models as content_models
from nibog.content.models import ContactMessage, ContentPage, Faq
from nibog.core.audit import AuditLog
from nibog.core.models import OutboxJob
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from tests.booking.world import make_world
from tests.factories import ChildFactory, UserFactory, birth_date_for_age, make_booking
from tests.helpers import html


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def actions() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


# ---------------------------------------------------------------- waiting lists


def _queue(world, n=2):
    """A full slot with ``n`` children waiting, oldest first."""
    slot = world.slots[0]
    entries = []
    for i in range(n):
        parent = UserFactory()
        child = ChildFactory(parent=parent, full_name=f"Waiting {i}",
                             date_of_birth=birth_date_for_age(24, world.event.event_date))
        entry = WaitingListEntry(slot_id=slot.id, child_id=child.id, user_id=parent.id)
        db.session.add(entry)
        db.session.commit()
        entries.append(entry)
    return slot, entries


def test_waiting_lists_show_each_slots_queue_in_order(staff_client):
    world = make_world(capacity=1)
    make_booking(world.parent, [(world.children[0], world.slots[0])])
    slot, entries = _queue(world)
    body = html(staff_client.get("/admin/waitlists"))
    assert f"/admin/waitlists/{slot.id}" in body
    body = html(staff_client.get(f"/admin/waitlists/{slot.id}"))
    assert body.index("Waiting 0") < body.index("Waiting 1")


def test_offer_a_seat_to_a_chosen_entry_ahead_of_the_queue(staff_client, staff_user):
    world = make_world(capacity=2)
    make_booking(world.parent, [(world.children[0], world.slots[0])])
    slot, entries = _queue(world)
    resp = staff_client.post(f"/admin/waitlists/entries/{entries[1].id}/offer")
    assert resp.status_code == 302
    db.session.expire_all()
    chosen = db.session.get(WaitingListEntry, entries[1].id)
    assert chosen.status == "offered"
    held = db.session.get(Booking, chosen.offered_booking_id)
    assert held.status == "pending_payment" and held.source == "waitlist"
    assert db.session.get(WaitingListEntry, entries[0].id).status == "waiting"
    assert "waitlist.offer" in actions()


def test_offering_needs_a_free_seat(staff_client):
    world = make_world(capacity=1)
    make_booking(world.parent, [(world.children[0], world.slots[0])])
    slot, entries = _queue(world)
    resp = staff_client.post(f"/admin/waitlists/entries/{entries[0].id}/offer")
    assert resp.status_code == 409
    assert "raise its capacity first" in html(resp) or "no seats left" in html(resp)
    assert count(Booking) == 1


def test_offer_round_gives_free_seats_to_the_first_in_line(staff_client):
    world = make_world(capacity=1)
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])])
    slot, entries = _queue(world)
    db.session.get(GameSlot, slot.id).capacity = 2
    db.session.commit()
    resp = staff_client.post(f"/admin/waitlists/{slot.id}/offer-next")
    assert resp.status_code == 302
    db.session.expire_all()
    assert [db.session.get(WaitingListEntry, e.id).status for e in entries] == ["offered",
                                                                               "waiting"]
    assert booking.id  # the original booking is untouched
    assert "waitlist.offer_round" in actions()


# ---------------------------------------------------------------- content


def test_faq_create_edit_delete_with_validation(admin_client):
    resp = admin_client.post("/admin/faqs/new", data={"question": "", "answer": "Yes",
                                                      "category": "general"})
    assert resp.status_code == 422 and 'value=""' in html(resp)
    assert count(Faq) == 0
    resp = admin_client.post("/admin/faqs/new", data={"question": "Parking?", "answer": "Yes",
                                                      "category": "venue", "sort_order": "2",
                                                      "is_published": "y"})
    assert resp.status_code == 302
    faq = db.session.scalar(select(Faq))
    assert (faq.question, faq.category, faq.sort_order, faq.is_published) == (
        "Parking?", "venue", 2, True)
    resp = admin_client.post(f"/admin/faqs/{faq.id}/edit", data={"question": "Parking?",
                                                                 "answer": "Free", "category": "venue"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Faq, faq.id).answer == "Free"
    assert db.session.get(Faq, faq.id).is_published is False  # an unticked box is "no"
    assert admin_client.post(f"/admin/faqs/{faq.id}/delete").status_code == 302
    assert count(Faq) == 0
    assert actions() == ["faq.create", "faq.update", "faq.delete"]


def test_testimonial_rating_and_photo_address_are_checked(admin_client):
    resp = admin_client.post("/admin/testimonials/new", data={
        "author_name": "Priya", "content": "Lovely", "rating": "9", "image_url": "not a url"})
    assert resp.status_code == 422
    body = html(resp)
    assert "A full address" in body and 'value="Priya"' in body
    resp = admin_client.post("/admin/testimonials/new", data={
        "author_name": "Priya", "content": "Lovely", "rating": "5", "city_name": "Pune"})
    assert resp.status_code == 302
    assert db.session.scalar(select(content_models.Testimonial.rating)) == 5


def test_pages_create_and_edit_keep_the_address(admin_client):
    resp = admin_client.post("/admin/pages/new", data={"slug": "Bad Slug", "title": "About"})
    assert resp.status_code == 422 and "Lower-case letters" in html(resp)
    resp = admin_client.post("/admin/pages/new", data={"slug": "about", "title": "About us",
                                                       "body_html": "<p>Hi</p>"})
    assert resp.status_code == 302
    resp = admin_client.post("/admin/pages/new", data={"slug": "about", "title": "Again"})
    assert resp.status_code == 422 and "exists already" in html(resp)
    resp = admin_client.post("/admin/pages/about/edit", data={"slug": "hacked", "title": "About",
                                                              "body_html": "<p>New</p>"})
    assert resp.status_code == 302
    page = db.session.scalar(select(ContentPage))
    db.session.refresh(page)
    assert (page.slug, page.body_html) == ("about", "<p>New</p>")


def test_staff_read_content_but_do_not_write_it(staff_client):
    assert staff_client.get("/admin/faqs").status_code == 200
    assert staff_client.post("/admin/faqs/new", data={"question": "Q", "answer": "A",
                                                      "category": "x"}).status_code == 403
    assert count(Faq) == 0


# ---------------------------------------------------------------- contact messages


def test_contact_messages_are_marked_replied_and_filtered(staff_client, staff_user):
    db.session.add_all([
        ContactMessage(name="Asha", email="asha@example.com", message="When is Pune?"),
        ContactMessage(name="Vikram", email="vik@example.com", message="Refund please"),
    ])
    db.session.commit()
    asha = db.session.scalar(select(ContactMessage).where(ContactMessage.name == "Asha"))
    resp = staff_client.post(f"/admin/contact-messages/{asha.id}/replied",
                             data={"next": "/admin/contact-messages?status=new"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/admin/contact-messages?status=new")
    body = html(staff_client.get("/admin/contact-messages?status=new"))
    assert "Vikram" in body and "Asha" not in body
    body = html(staff_client.get("/admin/contact-messages?status=handled"))
    assert "Asha" in body
    assert "contact_message.replied" in actions()


def test_the_next_address_cannot_leave_the_dashboard(staff_client):
    msg = ContactMessage(name="A", email="a@example.com", message="hello there")
    db.session.add(msg)
    db.session.commit()
    resp = staff_client.post(f"/admin/contact-messages/{msg.id}/replied",
                             data={"next": "https://evil.example/"})
    assert resp.headers["Location"].endswith("/admin/contact-messages")


# ---------------------------------------------------------------- notification log


def test_notification_log_filters_and_resends_a_booking_message(staff_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])])
    sent = NotificationLog(channel="email", template="booking_confirmed",
                           recipient=world.parent.email, booking_id=booking.id, status="bounced",
                           user_id=world.parent.id)
    other = NotificationLog(channel="sms", template="login_otp", recipient="+919800000000",
                            status="sent")
    db.session.add_all([sent, other])
    db.session.commit()
    body = html(staff_client.get("/admin/notifications?channel=email"))
    assert world.parent.email in body and "+919800000000" not in body
    resp = staff_client.post(f"/admin/notifications/{sent.id}/resend")
    assert resp.status_code == 302
    assert count(NotificationLog, NotificationLog.booking_id == booking.id) == 2
    assert "notification.resend" in actions()


def test_a_message_with_a_one_time_code_is_not_resent(staff_client):
    entry = NotificationLog(channel="sms", template="login_otp", recipient="+919800000000",
                            status="sent")
    db.session.add(entry)
    db.session.flush()
    db.session.add(OutboxJob(queue="notifications", func="nibog.notifications.tasks.deliver",
                             args=[entry.id, {"otp": "[sent]"}]))
    db.session.commit()
    resp = staff_client.post(f"/admin/notifications/{entry.id}/resend")
    assert resp.status_code == 409
    assert "one-time code" in html(resp)
    assert count(NotificationLog) == 1


# ---------------------------------------------------------------- failed jobs


def test_failed_messages_are_listed_and_requeued_by_an_admin(admin_client, staff_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])])
    entry = NotificationLog(channel="email", template="booking_confirmed", booking_id=booking.id,
                            recipient=world.parent.email, status="failed", error="SMTP 451")
    db.session.add(entry)
    db.session.flush()
    db.session.add(OutboxJob(queue="notifications", func="nibog.notifications.tasks.deliver",
                             args=[entry.id, {"booking_id": booking.id}]))
    db.session.commit()
    body = html(staff_client.get("/admin/jobs/failed"))
    assert "SMTP 451" in body and "Requeue" not in body  # staff read, admins requeue
    assert staff_client.post(f"/admin/jobs/failed/notification-{entry.id}/requeue").status_code == 403
    g.pop("_login_user", None)  # the test's app context cached the staff member
    resp = admin_client.post(f"/admin/jobs/failed/notification-{entry.id}/requeue")
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(NotificationLog, entry.id).status == "sent"  # JOBS_SYNC delivered it
    assert "job.requeue" in actions()

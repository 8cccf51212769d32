"""Event day: participants per slot, check-in by booking number (twice refused), a ticket of
another event refused, attendance and places, completing the event and certificates."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from nibog.booking.models import Booking, BookingItem
from nibog.catalog.models import Event
from nibog.core.audit import AuditLog
from nibog.core.timeutil import today_ist
from nibog.extensions import db
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    UserFactory,
    make_booking,
)
from tests.helpers import html


def day(on=None):
    event = EventFactory(title="Pune Games", event_date=on or today_ist())
    run = GameSlotFactory(event_game=EventGameFactory(
        event=event, template=GameTemplateFactory(name="Running Race")), capacity=10)
    crawl = GameSlotFactory(event_game=EventGameFactory(
        event=event, template=GameTemplateFactory(name="Baby Crawl")), capacity=10)
    parent = UserFactory(full_name="Meera Iyer", phone="+919800000001")
    aarav, diya = ChildFactory(parent=parent, full_name="Aarav"), ChildFactory(parent=parent,
                                                                             full_name="Diya")
    booking = make_booking(parent, [(aarav, run), (diya, crawl)])
    other = make_booking(parent, [(ChildFactory(parent=parent, full_name="Kabir"), run)])
    return event, booking, other, run, crawl


def fresh_items(booking):
    db.session.expire_all()
    return db.session.scalars(select(BookingItem).where(BookingItem.booking_id == booking.id)
                              .order_by(BookingItem.id)).all()


def test_participants_per_slot(staff_client):
    event, booking, *_ = day()
    page = html(staff_client.get(f"/admin/events/{event.id}/day"))
    assert page.index("Running Race") < page.index("Aarav") < page.index("Baby Crawl") \
        < page.index("Diya")
    assert "Meera Iyer" in page and "tel:+919800000001" in page and booking.booking_number in page


def test_check_in_by_number_then_twice_refused(staff_client, staff_user):
    event, booking, *_ = day()
    url = f"/admin/events/{event.id}/day/check-in"
    first = staff_client.post(url, data={"booking_number": booking.booking_number.lower()})
    assert first.status_code == 302
    page = html(staff_client.get(first.headers["Location"]))
    assert f"Checked in {booking.booking_number}: Aarav" in page and "Diya" in page
    items = fresh_items(booking)
    assert all(i.checked_in_at is not None and i.checked_in_by_id == staff_user.id for i in items)
    assert all(i.attendance == "attended" for i in items)

    again = staff_client.post(url, data={"booking_number": booking.booking_number})
    assert again.status_code == 409
    assert "Already checked in" in html(again) and "Do not admit twice." in html(again)
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert actions == ["booking.check_in"]


def test_check_in_as_json_for_the_scanner(staff_client):
    event, booking, *_ = day()
    url = f"/admin/events/{event.id}/day/check-in"
    ok = staff_client.post(url, data={"booking_number": booking.booking_number},
                           headers={"Accept": "application/json"})
    assert ok.status_code == 200 and ok.get_json()["ok"] is True
    assert len(ok.get_json()["item_ids"]) == 2
    twice = staff_client.post(url, data={"booking_number": booking.booking_number},
                              headers={"Accept": "application/json"})
    assert twice.status_code == 409
    assert twice.get_json()["error"]["code"] == "already_checked_in"


def test_check_in_by_signed_qr_payload(staff_client):
    from nibog.documents.qr import sign_ticket

    event, booking, *_ = day()
    items = fresh_items(booking)
    payload = sign_ticket({"b": booking.id, "n": booking.booking_number,
                           "i": [items[0].id]})
    url = f"/admin/events/{event.id}/day/check-in"
    response = staff_client.post(url, data={"qr_payload": payload},
                                 headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_json()
    items = fresh_items(booking)
    assert items[0].checked_in_at is not None and items[1].checked_in_at is None
    forged = staff_client.post(url, data={"qr_payload": payload[:-3] + "abc"},
                               headers={"Accept": "application/json"})
    assert forged.status_code == 422 and forged.get_json()["error"]["code"] == "invalid_ticket"


def test_a_ticket_of_another_event_is_refused(staff_client):
    event, *_ = day()
    elsewhere = EventFactory(title="Delhi Games", event_date=today_ist())
    slot = GameSlotFactory(event_game=EventGameFactory(event=elsewhere))
    parent = UserFactory()
    theirs = make_booking(parent, [(ChildFactory(parent=parent), slot)])
    response = staff_client.post(f"/admin/events/{event.id}/day/check-in",
                                 data={"booking_number": theirs.booking_number})
    assert response.status_code == 409 and "another event: Delhi Games" in html(response)
    assert all(i.checked_in_at is None for i in fresh_items(theirs))


def test_unknown_number_and_empty_form(staff_client):
    event, *_ = day()
    url = f"/admin/events/{event.id}/day/check-in"
    assert "No booking with that number." in html(staff_client.post(
        url, data={"booking_number": "NIBNOPE"}))
    empty = staff_client.post(url, data={"booking_number": " "})
    assert empty.status_code == 422 and "Type the booking number" in html(empty)


def test_not_the_event_day_needs_the_box_ticked(staff_client):
    event, booking, *_ = day(on=today_ist() + timedelta(days=2))
    url = f"/admin/events/{event.id}/day/check-in"
    refused = staff_client.post(url, data={"booking_number": booking.booking_number})
    assert refused.status_code == 422 and "not today" in html(refused)
    forced = staff_client.post(url, data={"booking_number": booking.booking_number,
                                          "force": "1"})
    assert forced.status_code == 302


def test_per_row_check_in_button(staff_client):
    event, booking, *_ = day()
    items = fresh_items(booking)
    response = staff_client.post(f"/admin/events/{event.id}/day/check-in",
                                 data={"item_id": str(items[1].id)})
    assert response.status_code == 302
    items = fresh_items(booking)
    assert items[0].checked_in_at is None and items[1].checked_in_at is not None


def test_attendance_and_places(staff_client):
    event, booking, other, run, _crawl = day()
    aarav = fresh_items(booking)[0]
    kabir = fresh_items(other)[0]
    url = f"/admin/events/{event.id}/day/slots/{run.id}"
    bad = staff_client.post(url, data={f"att-{aarav.id}": "no_show", f"pos-{aarav.id}": "1",
                                       f"att-{kabir.id}": "attended", f"pos-{kabir.id}": "x"})
    assert bad.status_code == 422
    page = html(bad)
    assert "A child with a place cannot be marked absent." in page
    assert "A place is a number from 1 to 99." in page and 'value="x"' in page
    ok = staff_client.post(url, data={f"att-{aarav.id}": "attended", f"pos-{aarav.id}": "1",
                                      f"att-{kabir.id}": "no_show", f"pos-{kabir.id}": ""})
    assert ok.status_code == 302
    assert (fresh_items(booking)[0].result_position, fresh_items(other)[0].attendance) == \
        (1, "no_show")
    # Saving the same again changes nothing (and audits nothing).
    staff_client.post(url, data={f"att-{aarav.id}": "attended", f"pos-{aarav.id}": "1",
                                 f"att-{kabir.id}": "no_show", f"pos-{kabir.id}": ""})
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert actions == ["booking_item.update", "booking_item.update"]


def test_a_child_of_another_slot_is_refused(staff_client):
    event, booking, _other, run, _crawl = day()
    diya = fresh_items(booking)[1]  # in the crawl slot
    response = staff_client.post(f"/admin/events/{event.id}/day/slots/{run.id}",
                                 data={f"att-{diya.id}": "attended"})
    assert response.status_code == 422 and "is not in this slot" in html(response)
    assert fresh_items(booking)[1].attendance == "unknown"


def test_staff_cannot_complete(staff_client):
    event, *_ = day()
    assert staff_client.post(f"/admin/events/{event.id}/day/complete").status_code == 403
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == "published"


def test_complete_the_event_and_certificates_are_made(admin_client, app, tmp_path):
    kept = app.config["STORAGE_LOCAL_PATH"]
    app.config["STORAGE_LOCAL_PATH"] = str(tmp_path)
    try:
        event, booking, other, run, _crawl = day()
        kabir = fresh_items(other)[0]
        admin_client.post(f"/admin/events/{event.id}/day/slots/{run.id}",
                          data={f"att-{kabir.id}": "no_show"})
        response = admin_client.post(f"/admin/events/{event.id}/day/complete")
        assert response.status_code == 302
        db.session.expire_all()
        assert db.session.get(Event, event.id).status == "completed"
        assert db.session.get(Booking, booking.id).status == "completed"
        # The job ran (JOBS_SYNC): Aarav and Diya have theirs, Kabir (absent) none.
        items = fresh_items(booking) + fresh_items(other)
        assert [i.certificate_path is not None for i in items] == [True, True, False]
        progress = admin_client.get(f"/admin/events/{event.id}/day/progress").get_json()
        assert (progress["certificates_ready"], progress["certificates_eligible"]) == (2, 2)
        page = html(admin_client.get(f"/admin/events/{event.id}/day"))
        assert 'id="cert-progress"' in page and 'value="2"' in page
        again = admin_client.post(f"/admin/events/{event.id}/day/certificates")
        assert again.status_code == 302
    finally:
        app.config["STORAGE_LOCAL_PATH"] = kept


def test_completing_before_the_date_is_refused(admin_client):
    event, *_ = day(on=today_ist() + timedelta(days=1))
    response = admin_client.post(f"/admin/events/{event.id}/day/complete")
    assert "on or after its date" in html(admin_client.get(response.headers["Location"]))

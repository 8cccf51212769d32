"""Rules of nibog/booking/service.py (``create_booking``, the booking engine's entry point) that
mutation testing found no test holding (docs/testing.md, "Mutation testing")."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from nibog.booking import service
from nibog.booking.models import Booking, WaitingListEntry
from nibog.catalog.models import Event
from nibog.core import boundary
from nibog.core.errors import AppError
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from tests.booking.world import assert_nothing_booked, make_promo, make_world
from tests.factories import birth_date_for_age
from tests.helpers import auth_headers
from tests.ops.support import Delta


def post(client, user, body):
    return client.post("/api/bookings", json=body, headers=auth_headers(user))


def one_item(w, child=0, slot=0):
    return [{"child_id": w.children[child].id, "slot_id": w.slots[slot].id}]


def guest_body(w, *, email="Asha@Example.com", slot=0, **extra):
    return {
        "guest": {"full_name": "Asha Rao", "email": email, "phone": "+919812345678"},
        "children": [{"full_name": "Anu", "date_of_birth":
                      birth_date_for_age(24, w.event.event_date).isoformat()}],
        "event_id": w.event.id,
        "items": [{"child_index": 0, "slot_id": w.slots[slot].id}],
        **extra,
    }


def create(w, **kw):
    args = {"user_id": w.parent.id, "event_id": w.event.id, "items": one_item(w),
            "addons": [], "promo_code": None, "source": "app", **kw}
    return service.create_booking(**args)


# --- what the engine refuses before it reads anything ----------------------------------------

def test_an_unknown_booking_source_is_a_programming_error_and_books_nothing(app):
    w = make_world()
    with pytest.raises(ValueError, match=r"^unknown booking source 'kiosk'$"):
        create(w, source="kiosk")
    boundary.rollback()
    assert_nothing_booked(w)


def test_a_payment_mode_other_than_online_or_cash_is_refused_with_the_field_named(app):
    w = make_world()
    with pytest.raises(AppError) as refused:
        create(w, payment_mode="cheque")
    assert refused.value.status == 422 and refused.value.code == "validation_error"
    assert refused.value.details == {"payment_mode": ["Must be online or cash"]}
    boundary.rollback()
    assert_nothing_booked(w)


@pytest.mark.parametrize("guest", [None, {}, {"email": "   ", "full_name": "Asha Rao"}])
def test_a_booking_needs_a_signed_in_parent_or_a_guest_address(app, guest):
    """A blank address is no address: nobody could look the booking up or be mailed about it."""
    w = make_world()
    with pytest.raises(ValueError, match=r"^a booking needs a user or a guest email$"):
        create(w, user_id=None, guest=guest, child_owner_id=w.parent.id, source="guest")
    boundary.rollback()
    assert_nothing_booked(w)


# --- what a booking stores ---------------------------------------------------------------------

def test_a_guest_booking_keeps_the_guests_name_phone_and_address_for_the_desk(client):
    w = make_world(n_children=0)
    resp = client.post("/api/bookings/guest", json=guest_body(w))
    assert resp.status_code == 201, resp.get_json()
    stored = db.session.get(Booking, resp.get_json()["booking"]["id"])
    assert (stored.guest_name, stored.guest_email, stored.guest_phone) == (
        "Asha Rao", "asha@example.com", "+919812345678")
    assert stored.user_id is None and stored.created_by_id is None


def test_a_guest_address_is_stored_trimmed_and_in_lower_case(app):
    """The guest lookup compares lower-case addresses: the engine stores one however it came."""
    w = make_world()
    booking = create(w, user_id=None, child_owner_id=w.parent.id, source="guest",
                     guest={"email": "  Asha@Example.COM ", "full_name": "", "phone": ""})
    boundary.commit()
    db.session.expire_all()
    stored = db.session.get(Booking, booking.id)
    assert stored.guest_email == "asha@example.com"
    # Blank name and phone are stored as missing, not as empty text.
    assert (stored.guest_name, stored.guest_phone) == (None, None)


def test_an_online_booking_made_at_the_desk_is_held_for_payment(app):
    """Only cash (or nothing to pay) confirms at once; the desk's online booking waits for the
    payment like a parent's."""
    w = make_world()
    booking = create(w, source="admin", payment_mode="online")
    boundary.commit()
    assert booking.status == "pending_payment" and booking.confirmed_at is None
    assert booking.hold_expires_at is not None and booking.total == 79900


def test_a_promo_booking_stores_subtotal_discount_and_the_total_to_pay(client):
    w = make_world(price=50000)
    make_promo("TENOFF", kind="fixed", value=10000)
    resp = post(client, w.parent, {"event_id": w.event.id, "items": one_item(w),
                                   "promo_code": "TENOFF"})
    assert resp.status_code == 201, resp.get_json()
    stored = db.session.get(Booking, resp.get_json()["booking"]["id"])
    assert (stored.subtotal, stored.discount, stored.total) == (50000, 10000, 40000)
    assert stored.promo_code_id is not None


# --- promo limits per guest address ------------------------------------------------------------

def test_a_guest_address_may_use_a_once_per_parent_code_once(client):
    """A guest has no account: the code's per-parent limit counts the guest's address."""
    w = make_world(n_children=0, n_slots=2)
    make_promo("ONCE", kind="fixed", value=5000, per_user_limit=1)
    first = client.post("/api/bookings/guest", json=guest_body(w, promo_code="ONCE"))
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["booking"]["discount"] == 5000
    again = client.post("/api/bookings/guest",
                        json=guest_body(w, email="ASHA@example.com", slot=1, promo_code="ONCE"))
    assert again.status_code == 409, again.get_json()
    error = again.get_json()["error"]
    assert error["code"] == "promo_exhausted" and error["details"] == {"reason": "per_user_limit"}
    assert error["message"] == "You have already used this promo code as often as allowed"
    other = client.post("/api/bookings/guest",
                        json=guest_body(w, email="ravi@example.com", slot=1, promo_code="ONCE"))
    assert other.status_code == 201, other.get_json()


# --- booking numbers ---------------------------------------------------------------------------

def test_booking_numbers_are_tried_five_times_then_the_booking_fails(app, monkeypatch):
    """A number already taken is retried with a fresh one; after five taken numbers in a row
    the engine gives up (a 500) rather than loop, and nothing is written."""
    w = make_world()
    taken = create(w)
    boundary.commit()
    tried: list[str] = []

    def same_number(today=None):
        tried.append(taken.booking_number)
        return taken.booking_number

    monkeypatch.setattr(service, "new_booking_number", same_number)
    two_children = [{"child_id": c.id, "slot_id": w.slots[1].id} for c in w.children]
    with pytest.raises(RuntimeError, match=r"^no free booking number in 5 attempts$"):
        create(w, items=two_children)
    assert len(tried) == 5
    boundary.rollback()
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


# --- the waiting list's seats ------------------------------------------------------------------

def test_a_free_seat_owed_to_the_waiting_list_is_not_sold_to_another_parent(client):
    w = make_world(capacity=2, n_slots=1)
    db.session.add(WaitingListEntry(slot_id=w.slots[0].id, child_id=w.children[1].id,
                                    user_id=w.parent.id, status="waiting"))
    db.session.commit()
    resp = post(client, w.parent, {"event_id": w.event.id, "items": one_item(w)})
    assert resp.status_code == 409, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "slot_full"
    assert error["details"] == {"slot_ids": [w.slots[0].id], "waiting_list": True}
    assert_nothing_booked(w)


# --- what parents and staff see after a booking ------------------------------------------------

def test_the_held_mail_goes_to_the_signed_in_parent_as_theirs(client):
    w = make_world()
    resp = post(client, w.parent, {"event_id": w.event.id, "items": one_item(w)})
    assert resp.status_code == 201
    mail = db.session.scalars(select(NotificationLog)).one()
    assert (mail.template, mail.recipient, mail.user_id, mail.booking_id) == (
        "booking_held", w.parent.email, w.parent.id, resp.get_json()["booking"]["id"])


def test_a_guests_held_mail_goes_to_the_guest_address(client):
    w = make_world(n_children=0)
    resp = client.post("/api/bookings/guest", json=guest_body(w))
    assert resp.status_code == 201
    mail = db.session.scalars(select(NotificationLog)).one()
    assert (mail.template, mail.recipient, mail.user_id) == (
        "booking_held", "asha@example.com", None)


def test_the_events_booking_count_is_refreshed_after_a_booking(client):
    """The admin's event list shows how many bookings an event has (a job after the commit)."""
    w = make_world()
    assert post(client, w.parent, {"event_id": w.event.id, "items": one_item(w)}).status_code == 201
    assert post(client, w.parent, {"event_id": w.event.id,
                                   "items": one_item(w, child=1, slot=1)}).status_code == 201
    db.session.expire_all()
    assert db.session.get(Event, w.event.id).bookings_count == 2


@pytest.mark.commits  # the scrape reads the state on a connection of its own
def test_a_hold_counts_as_held_and_a_free_booking_as_confirmed(client):
    w = make_world(n_slots=1)
    free = make_world(price=0, n_slots=1)
    with Delta(client, "nibog_bookings_total", status="held") as held, \
            Delta(client, "nibog_bookings_total", status="confirmed") as confirmed:
        assert post(client, w.parent, {"event_id": w.event.id,
                                       "items": one_item(w)}).status_code == 201
    assert (held.value, confirmed.value) == (1, 0)
    with Delta(client, "nibog_bookings_total", status="held") as held, \
            Delta(client, "nibog_bookings_total", status="confirmed") as confirmed:
        assert post(client, free.parent, {"event_id": free.event.id,
                                          "items": one_item(free)}).status_code == 201
    assert (held.value, confirmed.value) == (0, 1)


# --- reading one's own booking -----------------------------------------------------------------

def test_a_booking_is_found_for_its_parent_only(app):
    w = make_world()
    other = make_world()
    booking = create(w)
    boundary.commit()
    assert service.get_booking_for_user(booking.id, w.parent.id).id == booking.id
    for booking_id, user_id in ((booking.id, other.parent.id), (booking.id + 1, w.parent.id)):
        with pytest.raises(AppError) as missing:
            service.get_booking_for_user(booking_id, user_id)
        assert (missing.value.status, missing.value.message) == (404, "Booking not found")


def test_booking_for_an_event_that_does_not_exist_is_404_event_not_found(client):
    w = make_world()
    resp = post(client, w.parent, {"event_id": w.event.id + 1000, "items": one_item(w)})
    assert resp.status_code == 404, resp.get_json()
    assert resp.get_json()["error"]["message"] == "Event not found"
    assert_nothing_booked(w)


@pytest.mark.commits  # the refusal reads the seat's holder on a connection of its own
def test_a_duplicate_in_a_two_slot_booking_caught_by_the_index_names_the_booking_holding_it(
        client, monkeypatch):
    """With both duplicate checks bypassed, the partial unique index refuses the second item
    row of a two-slot booking (the path that inserts items after the seats): already_booked,
    naming the child's seat and the booking holding it, and nothing of the request is kept."""
    from nibog.booking import holds

    w = make_world()
    first = post(client, w.parent, {"event_id": w.event.id, "items": one_item(w)})
    assert first.status_code == 201
    monkeypatch.setattr(holds, "ensure_not_booked", lambda *a, **k: None)
    resp = post(client, w.parent, {"event_id": w.event.id,
                                   "items": one_item(w, child=1, slot=1) + one_item(w)})
    assert resp.status_code == 409, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "already_booked"
    assert error["details"] == {"items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id,
                                           "booking_id": first.get_json()["booking"]["id"]}]}
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    assert [db.session.get(type(s), s.id).booked_count for s in w.slots] == [1, 0]


@pytest.mark.parametrize("junk", ["junk", None, {"slot_id": 1}, {"child_id": "1", "slot_id": 1},
                                  {"child_id": True, "slot_id": 1}])
def test_a_malformed_item_given_to_the_engine_is_refused_as_invalid_not_a_crash(app, junk):
    """Callers other than the API's schema (the site's basket, the desk) hand items over as
    they are: a malformed one beside a good one is a 422 naming the field, and nothing is
    booked."""
    w = make_world()
    with pytest.raises(AppError) as refused:
        create(w, items=[*one_item(w), junk])
    assert refused.value.status == 422 and refused.value.code == "validation_error"
    assert "items" in refused.value.details
    boundary.rollback()
    assert_nothing_booked(w)


def test_a_booking_number_taken_meanwhile_is_retried_by_a_fresh_process(client, monkeypatch):
    """The booking INSERT (ON CONFLICT on the number DO NOTHING) is built once per process and
    database; built afresh, a taken number is still retried with a new one, not a 500."""
    w = make_world()
    first = post(client, w.parent, {"event_id": w.event.id, "items": one_item(w)})
    assert first.status_code == 201
    taken = first.get_json()["booking"]["booking_number"]
    numbers = iter([taken, taken, "NIB-26-FRESH1"])
    monkeypatch.setattr(service, "new_booking_number", lambda today=None: next(numbers))
    monkeypatch.setattr(service, "_insert_booking_stmts", {})
    two = post(client, w.parent, {"event_id": w.event.id,
                                  "items": one_item(w, child=1) + one_item(w, child=1, slot=1)})
    assert two.status_code == 201, two.get_json()
    assert two.get_json()["booking"]["booking_number"] == "NIB-26-FRESH1"
    assert len(two.get_json()["booking"]["items"]) == 2


def test_booking_numbers_carry_the_indian_calendar_year(client, monkeypatch):
    """From 18:30 UTC on 31 December it is already the new year in India: the numbers of
    bookings made then carry the new year (the server's own date would give the old one)."""
    from datetime import date

    w = make_world()
    monkeypatch.setattr(service, "today_ist", lambda: date(2031, 1, 1))
    one = post(client, w.parent, {"event_id": w.event.id, "items": one_item(w)})
    two = post(client, w.parent, {"event_id": w.event.id,
                                  "items": one_item(w, child=1) + one_item(w, child=1, slot=1)})
    assert one.status_code == 201 and two.status_code == 201
    assert one.get_json()["booking"]["booking_number"].startswith("NIB-31-")
    assert two.get_json()["booking"]["booking_number"].startswith("NIB-31-")

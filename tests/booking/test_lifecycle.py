"""Status changes: hold expiry, confirmation (also late), cancellation with the refund policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from nibog.booking import lifecycle
from nibog.booking.models import Booking, BookingItem, PromoCode
from nibog.booking.service import (
    SeatsNoLongerAvailable,
    cancel_booking,
    complete_event,
    confirm_booking,
    create_booking,
    expire_holds,
    release_unpaid_holds_for_user,
)
from nibog.catalog.models import AddOnVariant, GameSlot
from nibog.core import boundary
from nibog.core.timeutil import local_to_utc, utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.payments.models import Payment, Refund
from tests.booking.world import add_variant, make_promo, make_world
from tests.factories import ChildFactory, birth_date_for_age
from tests.helpers import auth_headers, error_code


def book(w, child=None, slot=None, **kw):
    booking = create_booking(
        user_id=w.parent.id, event_id=w.event.id,
        items=[{"child_id": (child or w.children[0]).id, "slot_id": (slot or w.slots[0]).id}],
        addons=kw.pop("addons", []), promo_code=kw.pop("promo_code", None), source="app", **kw,
    )
    boundary.commit()
    return booking


def seats(slot):
    db.session.expire_all()
    return db.session.get(GameSlot, slot.id).booked_count


def emails(template):
    return db.session.scalar(
        select(func.count()).select_from(NotificationLog).where(NotificationLog.template == template)
    )


def capture(booking):
    """A captured payment, as the payments feature records it."""
    db.session.add(Payment(
        booking_id=booking.id, user_id=booking.user_id, provider="sandbox",
        provider_order_id=f"order_{booking.id}", provider_payment_id=f"pay_{booking.id}",
        amount=booking.total, status="captured", captured_at=utcnow(),
    ))
    boundary.commit()


# --- hold expiry ----------------------------------------------------------------------------

def test_expired_hold_frees_seat_promo_use_and_stock(app):
    w = make_world(capacity=1)
    promo = make_promo("TEN", max_uses=1)
    variant = add_variant(w.event, stock=1)
    booking = book(w, promo_code="TEN",
                   addons=[{"addon_id": variant.addon_id, "variant_id": variant.id, "quantity": 1}])
    assert seats(w.slots[0]) == 1
    assert expire_holds(now=utcnow()) == 0  # still within the hold
    assert expire_holds(now=utcnow() + timedelta(seconds=app.config["BOOKING_HOLD_SECONDS"] + 1)) == 1
    boundary.commit()
    db.session.expire_all()
    b = db.session.get(Booking, booking.id)
    assert b.status == "expired" and b.expired_at is not None
    assert seats(w.slots[0]) == 0
    assert db.session.get(PromoCode, promo.id).used_count == 0
    assert db.session.get(AddOnVariant, variant.id).sold_count == 0
    assert not db.session.scalar(select(BookingItem.is_live))
    # The freed seat really is bookable again, with the code and the stock.
    other = ChildFactory(parent=w.parent, date_of_birth=w.children[0].date_of_birth)
    again = book(w, child=other, promo_code="TEN",
                 addons=[{"addon_id": variant.addon_id, "variant_id": variant.id, "quantity": 1}])
    assert again.status == "pending_payment"


def test_flask_expire_holds_command(app, runner, monkeypatch):
    w = make_world()
    booking = book(w)
    db.session.get(Booking, booking.id).hold_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    result = runner.invoke(args=["expire-holds"])
    assert result.exit_code == 0 and "expired 1 hold" in result.output
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "expired"
    assert seats(w.slots[0]) == 0


def test_seats_shown_count_live_holds(client):
    w = make_world(capacity=2)
    book(w)
    def seats_left():
        slots = client.get(f"/api/events/{w.event.id}/slots").get_json()
        return next(s for s in slots if s["id"] == w.slots[0].id)["seats_left"]

    assert seats_left() == 1
    expire_holds(now=utcnow() + timedelta(hours=1))
    boundary.commit()
    assert seats_left() == 2  # freed at once, not after a cache timeout


# --- confirmation -----------------------------------------------------------------------------

def test_confirm_is_idempotent_and_emails_once(app):
    w = make_world()
    booking = book(w)
    confirm_booking(booking.id, source="payment")
    boundary.commit()
    confirm_booking(booking.id, source="payment")
    boundary.commit()
    db.session.expire_all()
    b = db.session.get(Booking, booking.id)
    assert b.status == "confirmed" and b.confirmed_at is not None and b.hold_expires_at is None
    assert emails("booking_confirmed") == 1


def test_late_payment_retakes_free_seats(app):
    w = make_world(capacity=1)
    booking = book(w)
    expire_holds(now=utcnow() + timedelta(hours=1))
    boundary.commit()
    assert seats(w.slots[0]) == 0
    confirm_booking(booking.id, source="payment")
    boundary.commit()
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "confirmed"
    assert seats(w.slots[0]) == 1


def test_late_payment_for_a_seat_taken_meanwhile_changes_nothing(app):
    w = make_world(capacity=1)
    late = book(w)
    expire_holds(now=utcnow() + timedelta(hours=1))
    boundary.commit()
    book(w, child=w.children[1])  # someone else took the seat
    with pytest.raises(SeatsNoLongerAvailable) as err:
        confirm_booking(late.id, source="payment")
    assert err.value.status == 409 and err.value.code == "seats_unavailable"
    boundary.commit()  # the payments side commits its refund after catching this
    db.session.expire_all()
    assert db.session.get(Booking, late.id).status == "expired"
    assert seats(w.slots[0]) == 1
    assert db.session.scalar(select(func.count()).select_from(BookingItem).where(BookingItem.is_live)) == 1


def test_late_payment_cannot_stretch_a_once_per_parent_code_to_two_bookings(app):
    """The hold with the code expired (its use given back), the parent booked again with the
    code, then paid the first hold late: reviving it would hold two uses of a code allowed
    once per parent - refused, the caller refunds."""
    w = make_world(capacity=5)
    make_promo("ONCE", per_user_limit=1)
    first = book(w, promo_code="ONCE")
    expire_holds(now=utcnow() + timedelta(hours=1))
    boundary.commit()
    book(w, child=w.children[1], promo_code="ONCE")
    with pytest.raises(SeatsNoLongerAvailable) as err:
        confirm_booking(first.id, source="payment")
    assert err.value.details["reason"] == "per_user_limit"
    boundary.rollback()
    db.session.expire_all()
    assert db.session.get(Booking, first.id).status == "expired"


def test_payment_for_a_cancelled_booking_is_refused(app):
    w = make_world()
    booking = book(w)
    cancel_booking(booking.id, actor_id=w.parent.id)
    boundary.commit()
    with pytest.raises(SeatsNoLongerAvailable):
        confirm_booking(booking.id, source="payment")


# --- cancellation and refunds -------------------------------------------------------------------

def test_cancel_hold_via_api_frees_seat_and_second_cancel_is_409(client):
    w = make_world()
    booking = book(w)
    resp = client.put(f"/api/bookings/{booking.id}/cancel", json={"reason": "changed plans"},
                      headers=auth_headers(w.parent))
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["booking"]["status"] == "cancelled" and body["booking"]["cancelled_at"].endswith("+05:30")
    assert body["refund"] == {"amount": 0, "currency": "INR", "policy": "not_paid", "method": None}
    assert seats(w.slots[0]) == 0
    again = client.put(f"/api/bookings/{booking.id}/cancel", json={}, headers=auth_headers(w.parent))
    assert again.status_code == 409 and error_code(again) == "booking_not_cancellable"
    assert emails("booking_cancelled") == 1


def test_cancel_someone_elses_booking_is_404(client):
    w = make_world()
    other = make_world()
    booking = book(w)
    resp = client.put(f"/api/bookings/{booking.id}/cancel", json={}, headers=auth_headers(other.parent))
    assert resp.status_code == 404
    assert seats(w.slots[0]) == 1


def paid_booking(w):
    booking = book(w)
    capture(booking)
    confirm_booking(booking.id, source="payment")
    boundary.commit()
    return booking


def refund_deadline(w, app):
    start = local_to_utc(w.event.event_date, w.event.start_time)
    return start - timedelta(hours=app.config["REFUND_FULL_BEFORE_HOURS"])


def test_full_refund_up_to_the_deadline(client, app, monkeypatch):
    w = make_world(days_ahead=5)
    booking = paid_booking(w)
    monkeypatch.setattr(lifecycle, "utcnow", lambda: refund_deadline(w, app))
    resp = client.put(f"/api/bookings/{booking.id}/cancel", json={}, headers=auth_headers(w.parent))
    assert resp.get_json()["refund"] == {"amount": booking.total, "currency": "INR", "policy": "full",
                                         "method": "original_payment"}
    assert db.session.scalar(select(func.sum(Refund.amount))) == booking.total
    assert seats(w.slots[0]) == 0


def test_no_refund_one_second_after_the_deadline(client, app, monkeypatch):
    w = make_world(days_ahead=5)
    booking = paid_booking(w)
    monkeypatch.setattr(lifecycle, "utcnow",
                        lambda: refund_deadline(w, app) + timedelta(seconds=1))
    resp = client.put(f"/api/bookings/{booking.id}/cancel", json={}, headers=auth_headers(w.parent))
    assert resp.get_json()["refund"] == {"amount": 0, "currency": "INR", "policy": "none",
                                         "method": None}
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
    assert seats(w.slots[0]) == 0  # the seat is freed all the same


def test_refund_window_is_configurable(client, app, monkeypatch):
    w = make_world(days_ahead=5)
    booking = paid_booking(w)
    monkeypatch.setitem(app.config, "REFUND_FULL_BEFORE_HOURS", 24)
    monkeypatch.setattr(lifecycle, "utcnow",
                        lambda: local_to_utc(w.event.event_date, w.event.start_time) - timedelta(hours=30))
    resp = client.put(f"/api/bookings/{booking.id}/cancel", json={}, headers=auth_headers(w.parent))
    assert resp.get_json()["refund"]["amount"] == booking.total


def test_admin_cancel_refunds_in_full_after_the_deadline(app, monkeypatch):
    w = make_world(days_ahead=1)
    booking = paid_booking(w)
    _, refund = cancel_booking(booking.id, actor_id=None, reason="rain", by_admin=True)
    boundary.commit()
    assert refund == booking.total
    assert db.session.scalar(select(func.sum(Refund.amount))) == booking.total


def test_cancel_event_bookings_job_cancels_and_refunds_all(app):
    from nibog.booking.tasks import cancel_event_bookings

    w = make_world(days_ahead=1)
    paid = paid_booking(w)
    held = book(w, child=w.children[1])
    assert cancel_event_bookings(w.event.id, None) == 2
    assert cancel_event_bookings(w.event.id, None) == 0  # safe to run twice
    db.session.expire_all()
    assert {db.session.get(Booking, b.id).status for b in (paid, held)} == {"cancelled"}
    assert db.session.scalar(select(func.sum(Refund.amount))) == paid.total
    assert seats(w.slots[0]) == 0


def test_bookings_that_missed_their_events_cancellation_are_swept(app):
    """A booking committed just after the cancellation job listed the event's bookings: the
    periodic sweep cancels and refunds it; other events are left alone."""
    from nibog.booking.tasks import cancel_bookings_of_cancelled_events

    w = make_world(days_ahead=1)
    paid = paid_booking(w)
    held = book(w, child=w.children[1])
    elsewhere = make_world(days_ahead=1)
    untouched = book(elsewhere)
    w.event.status = "cancelled"  # as the admin's change left it, after its job had run
    boundary.commit()
    assert cancel_bookings_of_cancelled_events() == 2
    assert cancel_bookings_of_cancelled_events() == 0
    db.session.expire_all()
    assert {db.session.get(Booking, b.id).status for b in (paid, held)} == {"cancelled"}
    assert db.session.get(Booking, untouched.id).status == "pending_payment"
    assert db.session.scalar(select(func.sum(Refund.amount))) == paid.total
    assert seats(w.slots[0]) == 0


def test_release_unpaid_holds_for_deleted_account(app):
    w = make_world()
    held = book(w)
    paid = paid_booking(make_world())
    assert release_unpaid_holds_for_user(w.parent.id) == 1
    boundary.commit()
    db.session.expire_all()
    assert db.session.get(Booking, held.id).status == "cancelled"
    assert db.session.get(Booking, paid.id).status == "confirmed"
    assert seats(w.slots[0]) == 0


def test_complete_event_marks_confirmed_bookings_completed(app):
    w = make_world()
    paid = paid_booking(w)
    held = book(w, child=w.children[1])
    assert complete_event(w.event.id) == 1
    boundary.commit()
    db.session.expire_all()
    assert db.session.get(Booking, paid.id).status == "completed"
    assert db.session.get(Booking, held.id).status == "pending_payment"
    with pytest.raises(Exception) as err:
        cancel_booking(paid.id, actor_id=None)
    assert getattr(err.value, "code", None) == "booking_not_cancellable"


def test_child_eligibility_uses_age_on_event_date(client):
    """A child who turns 12 months between today and the event may play a 12+ months game."""
    w = make_world(days_ahead=20, n_children=0)
    young = ChildFactory(parent=w.parent, date_of_birth=birth_date_for_age(12, w.event.event_date))
    assert young.date_of_birth > birth_date_for_age(12)  # under 12 months today
    too_young = ChildFactory(parent=w.parent,
                             date_of_birth=birth_date_for_age(12, w.event.event_date) + timedelta(days=1))
    ok = client.post("/api/bookings", headers=auth_headers(w.parent), json={
        "event_id": w.event.id, "items": [{"child_id": young.id, "slot_id": w.slots[0].id}]})
    assert ok.status_code == 201, ok.get_json()
    no = client.post("/api/bookings", headers=auth_headers(w.parent), json={
        "event_id": w.event.id, "items": [{"child_id": too_young.id, "slot_id": w.slots[0].id}]})
    assert no.status_code == 422 and error_code(no) == "child_not_eligible"
    detail = no.get_json()["error"]["details"]["items"][0]
    assert detail["age_months_on_event_date"] == 11 and detail["min_age_months"] == 12


# --- freed seats go to the waiting list ---------------------------------------------------------

def _join_waitlist(client, w_parent, child, slot):
    return client.post("/api/waiting-list", json={"slot_id": slot.id, "child_id": child.id},
                       headers=auth_headers(w_parent))


def test_freed_seat_is_offered_to_the_waiting_list(client, app):
    from nibog.booking.models import WaitingListEntry

    w = make_world(capacity=1)
    first = book(w)
    waiting_child = w.children[1]
    joined = _join_waitlist(client, w.parent, waiting_child, w.slots[0])
    assert joined.status_code == 201, joined.get_json()
    cancel_booking(first.id, actor_id=w.parent.id)
    boundary.commit()  # the offer job runs after this commit
    db.session.expire_all()
    entry = db.session.scalar(select(WaitingListEntry))
    assert entry.status == "offered"
    offered = db.session.get(Booking, entry.offered_booking_id)
    assert offered.status == "pending_payment" and offered.source == "waitlist"
    assert seats(w.slots[0]) == 1


def test_expired_hold_seat_is_offered_to_the_waiting_list(client, app):
    from nibog.booking.models import WaitingListEntry

    w = make_world(capacity=1)
    book(w)
    assert _join_waitlist(client, w.parent, w.children[1], w.slots[0]).status_code == 201
    expire_holds(now=utcnow() + timedelta(hours=1))
    boundary.commit()
    db.session.expire_all()
    assert db.session.scalar(select(WaitingListEntry.status)) == "offered"


def test_parent_cannot_cancel_once_the_event_started(client, monkeypatch):
    w = make_world(days_ahead=5)
    booking = paid_booking(w)
    start = local_to_utc(w.event.event_date, w.event.start_time)
    monkeypatch.setattr(lifecycle, "utcnow", lambda: start)
    resp = client.put(f"/api/bookings/{booking.id}/cancel", json={}, headers=auth_headers(w.parent))
    assert resp.status_code == 409 and error_code(resp) == "booking_not_cancellable"
    assert seats(w.slots[0]) == 1
    _, refund = cancel_booking(booking.id, actor_id=None, by_admin=True)  # the organiser still can
    boundary.commit()
    assert refund == booking.total and seats(w.slots[0]) == 0

"""Waiting-list rules that mutation testing (`make mutate MODULE=waitlist/offers`) found no test
holding: what the audit log says about a passed-over entry, and the periodic job settling an
offer whose booking changed behind the list's back when nobody else is waiting."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from nibog.booking.models import Booking, BookingItem, WaitingListEntry
from nibog.catalog.models import GameSlot
from nibog.core import boundary
from nibog.core.audit import AuditLog
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.waitlist.offers import close_stale_entries, offer_seats
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    UserFactory,
    birth_date_for_age,
    make_booking,
)


def _waiting(slot, child=None):
    parent = child.parent if child is not None else UserFactory()
    child = child or ChildFactory(parent=parent)
    entry = WaitingListEntry(slot_id=slot.id, child_id=child.id, user_id=parent.id,
                             status="waiting")
    db.session.add(entry)
    db.session.commit()
    return entry


def _slot(capacity=1):
    return GameSlotFactory(event_game=EventGameFactory(event=EventFactory()), capacity=capacity)


def test_the_audit_log_says_why_an_entry_was_passed_over():
    """The admin's audit log shows the skipped entry's new status, the refusal's code and its
    message (the parent's page shows only the code)."""
    slot = _slot()
    too_young = ChildFactory(date_of_birth=birth_date_for_age(2))
    skipped = _waiting(slot, too_young)
    assert offer_seats(slot.id) == 0
    db.session.commit()
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "waitlist.skipped"))
    assert (row.entity_type, row.entity_id) == ("waiting_list", str(skipped.id))
    assert set(row.after) == {"status", "reason", "message"}
    assert (row.after["status"], row.after["reason"]) == ("cancelled", "child_not_eligible")
    assert "age" in row.after["message"].lower()


def _offered_alone():
    """A slot whose one waiting child was offered its seat; nobody else waits."""
    slot = _slot()
    entry = _waiting(slot)
    assert offer_seats(slot.id) == 1
    db.session.commit()
    db.session.refresh(entry)
    assert entry.status == "offered"
    return slot, entry


def _booking_became(entry, status, *, seat_freed):
    """The offered booking changed without the waiting list hearing of it (a lost job)."""
    db.session.execute(sa.update(Booking).where(Booking.id == entry.offered_booking_id)
                       .values(status=status))
    if seat_freed:
        db.session.execute(sa.update(BookingItem)
                           .where(BookingItem.booking_id == entry.offered_booking_id)
                           .values(is_live=False))
        db.session.execute(sa.update(GameSlot).where(GameSlot.id == entry.slot_id)
                           .values(booked_count=GameSlot.booked_count - 1))
    db.session.commit()


def _status(entry):
    db.session.expire_all()
    return db.session.get(WaitingListEntry, entry.id).status


def test_the_periodic_job_closes_a_lapsed_offer_with_nobody_behind_it():
    """No child waits behind the offer, so no offer round runs for the slot: the periodic job
    itself must mark the offer expired (the admin's queue would show it offered for ever)."""
    from nibog.waitlist.tasks import expire_waitlist_offers

    slot, entry = _offered_alone()
    _booking_became(entry, "expired", seat_freed=True)
    assert boundary.run_unit(expire_waitlist_offers) == 1  # the slot is offered again
    assert _status(entry) == "expired"


def test_the_periodic_job_marks_an_offer_paid_meanwhile_booked():
    from nibog.waitlist.tasks import expire_waitlist_offers

    slot, entry = _offered_alone()
    _booking_became(entry, "confirmed", seat_freed=False)
    assert boundary.run_unit(expire_waitlist_offers) == 0
    assert _status(entry) == "booked"


def test_an_offer_passes_on_at_its_very_deadline(monkeypatch):
    """An offer is overdue at its deadline, the same instant its hold is (``expire_holds``:
    ``hold_expires_at <= now``), not a moment later."""
    from datetime import timedelta

    from nibog.core.timeutil import utcnow
    from nibog.waitlist import offers
    from nibog.waitlist.tasks import expire_waitlist_offers

    slot, entry = _offered_alone()
    deadline = utcnow() - timedelta(seconds=1)
    entry.offer_expires_at = deadline
    db.session.get(Booking, entry.offered_booking_id).hold_expires_at = deadline
    db.session.commit()
    monkeypatch.setattr(offers, "utcnow", lambda: deadline)
    boundary.run_unit(expire_waitlist_offers)
    assert _status(entry) == "expired"
    assert db.session.get(Booking, entry.offered_booking_id).status == "expired"


def test_an_entry_stays_while_registration_closes_this_very_moment(monkeypatch):
    """Booking is refused only once ``now > registration_closes_at``; the queue is closed on
    the same rule, not an instant earlier."""
    from nibog.core.timeutil import utcnow
    from nibog.waitlist import offers

    closes = utcnow()
    slot = GameSlotFactory(event_game=EventGameFactory(event=EventFactory(
        registration_closes_at=closes)), capacity=1)
    entry = _waiting(slot)
    monkeypatch.setattr(offers, "utcnow", lambda: closes)
    assert offers.close_stale_entries() == 0
    assert _status(entry) == "waiting"


def test_an_offer_never_shortens_the_checkout_hold(app, monkeypatch):
    """With an offer window shorter than the checkout hold, the parent keeps the hold's time:
    the offer lasts as long as the held booking, never less."""
    from datetime import timedelta

    monkeypatch.setitem(app.config, "WAITLIST_OFFER_SECONDS", 60)
    slot, entry = _offered_alone()
    held = db.session.get(Booking, entry.offered_booking_id)
    assert entry.offer_expires_at == held.hold_expires_at
    hold_seconds = app.config["BOOKING_HOLD_SECONDS"]
    assert entry.offer_expires_at - entry.offered_at >= timedelta(seconds=hold_seconds - 5)


def test_the_parent_sees_when_the_seat_was_offered(client):
    from nibog.accounts.models import User
    from nibog.core.timeutil import isoformat_ist
    from tests.helpers import auth_headers

    slot, entry = _offered_alone()
    assert entry.offered_at is not None
    parent = db.session.get(User, entry.user_id)
    [listed] = client.get("/api/waiting-list", headers=auth_headers(parent)).get_json()["items"]
    assert listed["offered_at"] == isoformat_ist(entry.offered_at)


def test_the_hold_mail_is_marked_superseded_by_the_offer_mail():
    """The admin's message log shows why the engine's 'complete your payment' mail for the
    offered hold was not sent: the waiting-list offer mail replaced it."""
    from nibog.notifications.models import NotificationLog

    slot, entry = _offered_alone()
    logs = {n.template: (n.status, n.error) for n in db.session.scalars(
        sa.select(NotificationLog).where(NotificationLog.booking_id == entry.offered_booking_id))}
    assert logs["booking_held"] == ("suppressed", "superseded by waitlist_offer")
    assert logs["waitlist_offer"][0] == "queued"


# ---------------------------------------------------------------- entries (waitlist/entries)


def _parent_of(entry):
    from nibog.accounts.models import User

    return db.session.get(User, entry.user_id)


def test_someone_elses_entry_is_not_found_with_its_message(client):
    from tests.helpers import auth_headers

    entry = _waiting(_slot())
    stranger = auth_headers(UserFactory())
    for resp in (client.get(f"/api/waiting-list/{entry.id}", headers=stranger),
                 client.delete(f"/api/waiting-list/{entry.id}", headers=stranger)):
        assert resp.status_code == 404
        assert resp.get_json()["error"]["code"] == "not_found"
        assert resp.get_json()["error"]["message"] == "Waiting list entry not found"
    assert _status(entry) == "waiting"


def test_leaving_a_closed_entry_says_it_is_closed(client):
    from tests.helpers import auth_headers

    slot, entry = _offered_alone()
    _booking_became(entry, "confirmed", seat_freed=False)
    resp = client.delete(f"/api/waiting-list/{entry.id}", headers=auth_headers(_parent_of(entry)))
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert (error["code"], error["message"], error["details"]) == (
        "waitlist_entry_closed", "This entry is already booked", {"status": "booked"})


def test_one_entry_shows_an_offer_paid_meanwhile_as_booked(client):
    """Reading one entry settles that entry's offer first, as the list does."""
    from tests.helpers import auth_headers

    slot, entry = _offered_alone()
    _booking_became(entry, "confirmed", seat_freed=False)
    resp = client.get(f"/api/waiting-list/{entry.id}", headers=auth_headers(_parent_of(entry)))
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "booked"
    assert _status(entry) == "booked"


@pytest.mark.commits  # another connection commits during the test
def test_leaving_rereads_an_entry_another_transaction_closed(app):
    """The entry was read before (and so sits in the session) when another transaction expired
    it: leaving reads the locked row afresh and refuses, rather than cancelling from the stale
    copy and overwriting the other transaction's verdict."""
    from nibog.core.errors import AppError
    from nibog.waitlist.entries import leave

    entry = _waiting(_slot())
    entry_id, user_id = entry.id, entry.user_id
    assert db.session.get(WaitingListEntry, entry_id).status == "waiting"  # in the session
    with db.engine.begin() as other:
        other.execute(sa.update(WaitingListEntry).where(WaitingListEntry.id == entry_id)
                      .values(status="expired"))
    try:
        leave(user_id, entry_id)
    except AppError as exc:
        assert exc.code == "waitlist_entry_closed"
    else:
        raise AssertionError("left an entry another transaction had closed")
    db.session.rollback()
    assert _status(entry) == "expired"


def test_the_offer_mail_names_the_child_and_the_deadline(app):
    from nibog.notifications.channels import CONSOLE_OUTBOX
    from nibog.waitlist.tasks import offer_waitlist_seats

    slot = _slot()
    parent = UserFactory()
    entry = _waiting(slot, ChildFactory(parent=parent, full_name="Ishaan Rao"))
    CONSOLE_OUTBOX.clear()
    assert boundary.run_unit(offer_waitlist_seats, slot.id) == 1
    [mail] = [m for m in CONSOLE_OUTBOX if m["To"] == parent.email]
    body = mail.get_body(("plain",)).get_content()
    assert "a seat opened up for Ishaan Rao" in body
    assert "holding it for you until" in body
    assert "Ishaan Rao" in mail["Subject"]
    assert _status(entry) == "offered"
    # Kept in the parent's message log (the admin finds it under the parent).
    note = db.session.scalar(sa.select(NotificationLog).where(
        NotificationLog.template == "waitlist_offer"))
    assert (note.user_id, note.recipient) == (parent.id, parent.email)


def test_a_parent_without_an_email_is_offered_the_seat_by_sms():
    from nibog.notifications.channels import CONSOLE_OUTBOX
    from nibog.waitlist.tasks import offer_waitlist_seats

    slot = _slot()
    parent = UserFactory(email=None)
    entry = _waiting(slot, ChildFactory(parent=parent, full_name="Meher Das"))
    CONSOLE_OUTBOX.clear()
    assert boundary.run_unit(offer_waitlist_seats, slot.id) == 1
    db.session.refresh(entry)
    notes = db.session.scalars(sa.select(NotificationLog).where(
        NotificationLog.template == "waitlist_offer")).all()
    assert [(n.channel, n.recipient, n.user_id, n.booking_id) for n in notes] == [
        ("sms", parent.phone, parent.id, entry.offered_booking_id)]
    [sms] = [m for m in CONSOLE_OUTBOX if getattr(m, "to", None) == parent.phone]
    assert "Meher Das" in sms.body


@pytest.mark.commits  # another connection commits during the test
def test_a_round_counts_seats_freed_since_the_slot_was_read(app):
    """The slot was read earlier in this session when another transaction raised its capacity:
    the round reads the locked row afresh and offers the new seat."""
    slot = _slot()
    holder = UserFactory()

    make_booking(holder, [(ChildFactory(parent=holder), slot)])
    entry = _waiting(slot)
    assert db.session.get(GameSlot, slot.id).capacity == 1  # in the session
    with db.engine.begin() as other:
        other.execute(sa.update(GameSlot).where(GameSlot.id == slot.id).values(capacity=2))
    assert offer_seats(slot.id) == 1
    db.session.commit()
    assert _status(entry) == "offered"


def test_the_seat_goes_to_the_child_shown_first_in_the_queue(client):
    """Queue order is arrival time, then id: an entry whose transaction began first (its
    created_at is earlier) but committed second is first in line, as its position says."""
    from datetime import timedelta

    from tests.helpers import auth_headers

    slot = _slot()
    holder = UserFactory()

    make_booking(holder, [(ChildFactory(parent=holder), slot)])
    later, earlier = _waiting(slot), _waiting(slot)
    earlier.created_at = later.created_at - timedelta(seconds=1)
    db.session.commit()
    shown = client.get(f"/api/waiting-list/{earlier.id}",
                       headers=auth_headers(_parent_of(earlier))).get_json()
    assert shown["position"] == 1
    db.session.execute(sa.update(GameSlot).where(GameSlot.id == slot.id).values(capacity=2))
    db.session.commit()
    assert offer_seats(slot.id) == 1
    db.session.commit()
    assert (_status(earlier), _status(later)) == ("offered", "waiting")


def test_an_offer_leaves_other_bookings_hold_mails_alone():
    """Only the offered booking's own 'complete your payment' mail is superseded."""
    from nibog.notifications.models import NotificationLog

    other_parent = UserFactory()
    other = make_booking(other_parent, [(ChildFactory(parent=other_parent), _slot(capacity=3))],
                         status="pending_payment")
    mail = NotificationLog(channel="email", template="booking_held", status="queued",
                           recipient=other_parent.email, user_id=other_parent.id,
                           booking_id=other.id)
    db.session.add(mail)
    db.session.commit()
    _offered_alone()
    db.session.expire_all()
    assert db.session.get(NotificationLog, mail.id).status == "queued"


def test_leaving_an_offer_says_why_its_hold_was_cancelled(client):
    """The admin's booking page shows why the held booking was cancelled."""
    from tests.helpers import auth_headers

    slot, entry = _offered_alone()
    resp = client.delete(f"/api/waiting-list/{entry.id}", headers=auth_headers(_parent_of(entry)))
    assert resp.status_code == 204
    db.session.expire_all()
    held = db.session.get(Booking, entry.offered_booking_id)
    assert (held.status, held.cancel_reason) == ("cancelled", "left the waiting list")
    assert _status(entry) == "cancelled"


def test_a_parents_list_filters_by_status_newest_first(client):
    """``?status=`` keeps only that status; newest first by the time of joining (then id),
    each with its id and the child's name."""
    from datetime import timedelta

    from tests.helpers import auth_headers

    parent = UserFactory()
    kids = [ChildFactory(parent=parent, full_name=n) for n in ("Asha", "Bela", "Chand")]
    first, second, left = (_waiting(_slot(), kid) for kid in kids)
    second.created_at = first.created_at - timedelta(minutes=5)  # joined before the first
    left.status = "cancelled"
    db.session.commit()
    for path in ("/api/waiting-list", "/api/users/me/waiting-list"):
        items = client.get(f"{path}?status=waiting", headers=auth_headers(parent)).get_json()[
            "items"]
        assert [(i["id"], i["child"]["full_name"]) for i in items] == [
            (first.id, "Asha"), (second.id, "Bela")]
    items = client.get("/api/waiting-list", headers=auth_headers(parent)).get_json()["items"]
    assert [i["id"] for i in items] == [left.id, first.id, second.id]


def test_closing_stale_entries_leaves_settled_ones_alone():
    """Only waiting entries of an event that is over are closed: a booked (or left) entry of
    that event keeps its status, which the parent's list shows."""
    event = EventFactory(status="completed")
    waiting = _waiting(_slot_in(event))
    booked, left = _waiting(_slot_in(event)), _waiting(_slot_in(event))
    booked.status, left.status = "booked", "cancelled"
    db.session.commit()
    assert close_stale_entries() == 1
    assert [_status(e) for e in (waiting, booked, left)] == ["expired", "booked", "cancelled"]


def _slot_in(event, capacity=1):
    return GameSlotFactory(event_game=EventGameFactory(event=event), capacity=capacity)


def test_a_round_for_a_closed_slot_offers_nothing_and_says_so(monkeypatch):
    """A closed slot stops the round (the queue keeps its order) and the round reports 0
    offers, which the admin's 'offer now' button shows as 'no offer made'; the log says which
    slot stopped and why (the only trace of a round that offered nothing)."""
    import logging

    slot = _slot(capacity=2)
    slot.is_open = False
    db.session.commit()
    entry = _waiting(slot)
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    logger = logging.getLogger("nibog.waitlist.offers")
    monkeypatch.setattr(logger, "level", logging.INFO)
    monkeypatch.setattr(logger, "disabled", False)  # a logging config may have disabled it
    logger.addHandler(handler)
    try:
        assert offer_seats(slot.id) == 0
    finally:
        logger.removeHandler(handler)
    db.session.commit()
    assert _status(entry) == "waiting"
    stops = [r.getMessage() for r in records]
    assert stops == [f"waitlist offers for slot {slot.id} stopped: slot_closed"]


def test_a_round_for_a_slot_gone_meanwhile_offers_nothing():
    assert offer_seats(987654) == 0


def test_an_offered_entry_is_described_in_full(client):
    """Everything the parent's app shows for an entry: child, slot times, event, the held
    booking to pay and the offer's times, in IST."""
    from nibog.accounts.models import Child
    from nibog.catalog.models import Event, EventGame
    from nibog.core.timeutil import isoformat_ist
    from tests.helpers import auth_headers

    slot, entry = _offered_alone()
    held = db.session.get(Booking, entry.offered_booking_id)
    game = db.session.get(EventGame, slot.event_game_id)
    event = db.session.get(Event, game.event_id)
    child = db.session.get(Child, entry.child_id)
    got = client.get(f"/api/waiting-list/{entry.id}",
                     headers=auth_headers(_parent_of(entry))).get_json()
    assert got == {
        "id": entry.id, "status": "offered", "position": None,
        "child": {"id": child.id, "full_name": child.full_name},
        "slot": {"id": slot.id, "game_name": game.template.name,
                 "start_time": slot.start_time.strftime("%H:%M"),
                 "end_time": slot.end_time.strftime("%H:%M")},
        "event": {"id": event.id, "title": event.title,
                  "event_date": event.event_date.isoformat()},
        "offered_booking": {"id": held.id, "booking_number": held.booking_number,
                            "status": "pending_payment", "total": held.total,
                            "hold_expires_at": isoformat_ist(held.hold_expires_at)},
        "offered_at": isoformat_ist(entry.offered_at),
        "offer_expires_at": isoformat_ist(entry.offer_expires_at),
        "created_at": isoformat_ist(entry.created_at),
        "closed_reason": None,
    }
    assert got["slot"]["start_time"].count(":") == 1 and got["offered_at"] is not None


def test_joining_a_closed_or_unknown_slot_is_refused_with_its_message(client):
    from tests.helpers import auth_headers

    parent = UserFactory()
    kid = ChildFactory(parent=parent)
    closed = _slot()
    closed.is_open = False
    db.session.commit()
    resp = client.post("/api/waiting-list", json={"slot_id": closed.id, "child_id": kid.id},
                       headers=auth_headers(parent))
    assert resp.status_code == 422
    assert resp.get_json()["error"] == {"code": "registration_closed",
                                        "message": "This slot is closed for booking",
                                        "details": {"slot_id": closed.id}}
    resp = client.post("/api/waiting-list", json={"slot_id": closed.id + 999, "child_id": kid.id},
                       headers=auth_headers(parent))
    assert resp.status_code == 404
    assert resp.get_json()["error"]["message"] == "Slot not found"
    # Someone else's child is no child of this parent.
    resp = client.post("/api/waiting-list", json={"slot_id": closed.id,
                                                  "child_id": ChildFactory().id},
                       headers=auth_headers(parent))
    assert resp.status_code == 404
    assert resp.get_json()["error"]["message"] == "Child not found"


@pytest.mark.commits  # another connection commits during the test
def test_joining_rereads_a_slot_another_transaction_freed():
    """The slot was read earlier in this session when another transaction freed a seat (and
    nobody waits): the join reads the locked row afresh and says to book directly."""
    from nibog.core.errors import AppError
    from nibog.waitlist.entries import join

    slot = _slot()
    holder = UserFactory()
    make_booking(holder, [(ChildFactory(parent=holder), slot)])
    parent = UserFactory()
    kid = ChildFactory(parent=parent)
    assert db.session.get(GameSlot, slot.id).capacity == 1  # in the session
    with db.engine.begin() as other:
        other.execute(sa.update(GameSlot).where(GameSlot.id == slot.id).values(capacity=2))
    try:
        join(parent.id, slot.id, kid.id)
    except AppError as exc:
        assert exc.code == "slot_not_full"
    else:
        raise AssertionError("queued for a slot with a free seat")
    db.session.rollback()


def test_join_refusals_say_what_is_wrong(client):
    """Each refusal of a join, with its message and details; a seat elsewhere, or a cancelled
    one here, does not stop a child queuing."""
    from tests.helpers import auth_headers

    slot = _slot(capacity=3)
    parent = UserFactory()
    booked, queued, was_here, elsewhere = (ChildFactory(parent=parent) for _ in range(4))
    make_booking(parent, [(booked, slot)])

    def join(kid):
        return client.post("/api/waiting-list", json={"slot_id": slot.id, "child_id": kid.id},
                           headers=auth_headers(parent))

    resp = join(queued)
    assert resp.status_code == 409
    assert resp.get_json()["error"] == {
        "code": "slot_not_full", "message": "This slot still has seats; book it directly",
        "details": {"slot_id": slot.id, "seats_left": 2}}
    others = UserFactory()
    make_booking(others, [(ChildFactory(parent=others), slot), (ChildFactory(parent=others), slot)])
    make_booking(parent, [(was_here, slot)], status="cancelled")
    make_booking(parent, [(elsewhere, _slot(capacity=5))])

    resp = join(booked)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["message"] == "This child already has a seat in this slot"
    assert join(queued).status_code == 201
    resp = join(queued)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["message"] == (
        "This child is already on the waiting list for this slot")
    assert join(was_here).status_code == 201
    assert join(elsewhere).status_code == 201
